import { createHmac, randomBytes } from 'node:crypto'
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http'
import type { AddressInfo, Socket } from 'node:net'
import { CompactSign, exportJWK, exportSPKI, generateKeyPair, type CryptoKey, type JWK } from 'jose'

interface Teardown { teardown(fn: () => unknown): void }

/** Algorithms the test issuer can sign with (asymmetric; HS256 tokens are crafted with `hmacToken`). */
export type TestAlgorithm = 'RS256' | 'RS384' | 'RS512' | 'PS256' | 'ES256' | 'ES384' | 'ES512' | 'EdDSA'

/** Clerk's `cat` header value for session tokens. */
export const SESSION_CATEGORY = 'cl_B7d4PD111AAA'

/** A real key pair made by jose, and its public forms as the JWKS and a PEM publish it. */
export interface TestKey {
  kid: string
  alg: TestAlgorithm
  privateKey: CryptoKey
  publicKey: CryptoKey
  /** As published in the JWKS: with `kid`, `alg` and `use: 'sig'`. */
  publicJwk: JWK
  /** SPKI PEM, e.g. for `AUTH_JWT_KEY`. */
  publicPem: string
}

/**
 * How the server misbehaves: `refuse` stops listening (connection refused), `hang` accepts and
 * never answers, `hang-body` sends headers and part of the body then stalls, `500` answers an
 * error, `html` a 200 HTML page, `bad-json` a 200 `application/json` body that is not JSON,
 * `no-keys` JSON without `keys`, `redirect` a 302 to `redirectTo` (default: a path of this
 * server that would serve the real keys). `false` serves the keys again.
 */
export type DownMode = 'refuse' | 'hang' | 'hang-body' | '500' | 'html' | 'bad-json' | 'no-keys' | 'redirect' | false

export interface JwksServerOptions {
  /** Algorithm of the first key. Default: RS256. */
  alg?: TestAlgorithm
  /** `iss` of signed tokens. Default: the server's URL (`http://127.0.0.1:<port>`). */
  issuer?: string
  /** Where `redirect` mode points. Default: `/moved/jwks.json` on this server, which serves the keys. */
  redirectTo?: string
}

export interface SignOptions {
  /** `kid` header; default: the signing key's. Pass any string for an unknown kid. */
  kid?: string
  /** Sign with a key of this algorithm (made, unpublished, on first use if the current key differs). */
  alg?: TestAlgorithm
  /** Sign with this key. */
  key?: TestKey
  /** Header members to add or replace; `undefined` removes one (e.g. `{ typ: undefined }`). */
  header?: Record<string, unknown>
  /** Adds `azp` to the default claims. */
  azp?: string
}

export interface JwksServer {
  /** `http://127.0.0.1:<port>` */
  readonly url: string
  readonly issuer: string
  /** `${url}/.well-known/jwks.json` */
  readonly jwksUrl: string
  /** The published keys (what the JWKS serves). */
  readonly keys: readonly TestKey[]
  /** The key `sign` uses by default (the newest from `rotate`). */
  readonly currentKey: TestKey
  /** Requests for the JWKS path (every mode but `refuse`, where none arrive). */
  readonly fetchCount: number
  /** Requests of any path, including redirect targets. */
  readonly requestCount: number
  /** Path of every request received, in order. */
  readonly paths: readonly string[]
  /** Claims of a valid Clerk session token (`iss`, `sub`, `sid`, `iat`, `nbf`, `exp`), with overrides; `undefined` removes a claim. */
  claims (overrides?: Record<string, unknown>, options?: Pick<SignOptions, 'azp'>): Record<string, unknown>
  /** Signs a token (RS256 by default) with a real key; header `{ alg, kid, typ: 'JWT', cat }`. */
  sign (claims?: Record<string, unknown>, options?: SignOptions): Promise<string>
  /** Publishes a new key and makes it the current one; the old keys stay published unless `removePrevious`. */
  rotate (options?: { alg?: TestAlgorithm, removePrevious?: boolean }): Promise<TestKey>
  /** Makes a key, published or not (a key the issuer never published). */
  addKey (options?: { alg?: TestAlgorithm, publish?: boolean }): Promise<TestKey>
  /** Stops publishing a key (it can still sign, as a stolen or retired key would). */
  removeKey (kid: string): void
  /** Serves this exact JSON body as the JWKS instead of the keys (`null` to go back). */
  setDocument (document: unknown): void
  /** Answers every request with this handler instead (`null` to go back); for odd answers no mode covers. */
  setHandler (handler: ((request: IncomingMessage, response: ServerResponse) => void) | null): void
  setDown (mode: DownMode): Promise<void>
  close (): Promise<void>
}

export function base64url (input: string | Uint8Array | object): string {
  if (typeof input === 'string' || input instanceof Uint8Array) return Buffer.from(input).toString('base64url')
  return Buffer.from(JSON.stringify(input)).toString('base64url')
}

function withoutUndefined (value: Record<string, unknown>): Record<string, unknown> {
  return Object.fromEntries(Object.entries(value).filter(([, member]) => member !== undefined))
}

const GENERATE: Record<TestAlgorithm, Parameters<typeof generateKeyPair>[1]> = {
  RS256: { modulusLength: 2048 },
  RS384: { modulusLength: 2048 },
  RS512: { modulusLength: 2048 },
  PS256: { modulusLength: 2048 },
  ES256: {},
  ES384: {},
  ES512: {},
  EdDSA: { crv: 'Ed25519' }
}

/** Makes a key pair with jose; `kid` defaults to a random `ins_…`-like id. */
export async function createTestKey (alg: TestAlgorithm = 'RS256', kid = `ins_${randomBytes(8).toString('hex')}`): Promise<TestKey> {
  const { privateKey, publicKey } = await generateKeyPair(alg, { ...GENERATE[alg], extractable: true })
  const publicJwk = { ...await exportJWK(publicKey), kid, alg, use: 'sig' }
  return { kid, alg, privateKey, publicKey, publicJwk, publicPem: await exportSPKI(publicKey) }
}

/** Signs `payload` under `header` with a real key (jose), `crit` members declared as understood. */
export async function signToken (key: TestKey, header: Record<string, unknown>, payload: Record<string, unknown>): Promise<string> {
  const protectedHeader = withoutUndefined({ alg: key.alg, ...header }) as { alg: string }
  const crit = (protectedHeader as { crit?: unknown }).crit
  const options = Array.isArray(crit) ? { crit: Object.fromEntries(crit.map((name) => [String(name), true])) } : undefined
  return new CompactSign(Buffer.from(JSON.stringify(withoutUndefined(payload))))
    .setProtectedHeader(protectedHeader)
    .sign(key.privateKey, options)
}

/** Starts a JWKS endpoint on 127.0.0.1 with one real key; closed at teardown. */
export async function startJwksServer (t: Teardown, options: JwksServerOptions = {}): Promise<JwksServer> {
  const first = await createTestKey(options.alg ?? 'RS256')
  const allKeys: TestKey[] = [first]
  let published: TestKey[] = [first]
  let current = first
  let mode: DownMode = false
  let document: unknown = null
  let handler: ((request: IncomingMessage, response: ServerResponse) => void) | null = null
  let fetchCount = 0
  const paths: string[] = []
  const sockets = new Set<Socket>()
  const movedPath = '/moved/jwks.json'

  function serveKeys (response: ServerResponse) {
    const body = JSON.stringify(document ?? { keys: published.map((key) => key.publicJwk) })
    response.writeHead(200, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(body) })
    response.end(body)
  }

  function answer (request: IncomingMessage, response: ServerResponse) {
    const path = (request.url ?? '/').split('?')[0] as string
    paths.push(path)
    if (handler !== null) return handler(request, response)
    if (path === movedPath) return serveKeys(response)
    if (path !== '/.well-known/jwks.json') {
      response.writeHead(404, { 'content-type': 'application/json' })
      return response.end('{"error":"not found"}')
    }
    fetchCount++
    switch (mode) {
      case 'hang':
        return
      case 'hang-body':
        response.writeHead(200, { 'content-type': 'application/json' })
        response.write('{"keys":[')
        return
      case '500':
        response.writeHead(500, { 'content-type': 'application/json' })
        return response.end('{"error":"internal"}')
      case 'html':
        response.writeHead(200, { 'content-type': 'text/html' })
        return response.end('<html><body>Service temporarily unavailable</body></html>')
      case 'bad-json':
        response.writeHead(200, { 'content-type': 'application/json' })
        return response.end('{"keys": [ this is not json')
      case 'no-keys':
        response.writeHead(200, { 'content-type': 'application/json' })
        return response.end('{"jwks":[]}')
      case 'redirect':
        response.writeHead(302, { location: options.redirectTo ?? `${url}${movedPath}` })
        return response.end()
      default:
        return serveKeys(response)
    }
  }

  const server: Server = createServer(answer)
  server.on('connection', (socket) => {
    sockets.add(socket)
    socket.on('close', () => sockets.delete(socket))
  })
  let listening = false

  async function listen (port: number) {
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject)
      server.listen(port, '127.0.0.1', () => {
        server.off('error', reject)
        resolve()
      })
    })
    listening = true
  }

  async function stopListening () {
    if (!listening) return
    listening = false
    const closed = new Promise<void>((resolve) => server.close(() => resolve()))
    for (const socket of sockets) socket.destroy()
    await closed
  }

  await listen(0)
  const { port } = server.address() as AddressInfo
  const url = `http://127.0.0.1:${port}`
  const issuer = options.issuer ?? url

  async function keyFor (alg: TestAlgorithm): Promise<TestKey> {
    if (current.alg === alg) return current
    const existing = allKeys.find((key) => key.alg === alg)
    return existing ?? await jwks.addKey({ alg, publish: false })
  }

  const jwks: JwksServer = {
    url,
    issuer,
    jwksUrl: `${url}/.well-known/jwks.json`,
    get keys () { return published },
    get currentKey () { return current },
    get fetchCount () { return fetchCount },
    get requestCount () { return paths.length },
    paths,
    claims (overrides = {}, claimOptions = {}) {
      const now = Math.floor(Date.now() / 1000)
      return withoutUndefined({
        iss: issuer,
        sub: 'user_2NNEqL2nrIRdJ194ndJqAHwEfxC',
        sid: 'sess_2NNEqLbNYtL2L8qUUuG2wXcAAAA',
        iat: now,
        nbf: now - 10,
        exp: now + 60,
        ...(claimOptions.azp === undefined ? {} : { azp: claimOptions.azp }),
        ...overrides
      })
    },
    async sign (claims = {}, signOptions = {}) {
      const key = signOptions.key ?? (signOptions.alg === undefined ? current : await keyFor(signOptions.alg))
      const header = { kid: signOptions.kid ?? key.kid, typ: 'JWT', cat: SESSION_CATEGORY, ...signOptions.header }
      return signToken(key, header, jwks.claims(claims, signOptions))
    },
    async rotate (rotateOptions = {}) {
      const key = await jwks.addKey({ alg: rotateOptions.alg ?? current.alg })
      if (rotateOptions.removePrevious === true) published = [key]
      current = key
      return key
    },
    async addKey (keyOptions = {}) {
      const key = await createTestKey(keyOptions.alg ?? 'RS256')
      allKeys.push(key)
      if (keyOptions.publish !== false) published = [...published, key]
      return key
    },
    removeKey (kid) {
      published = published.filter((key) => key.kid !== kid)
    },
    setDocument (next) {
      document = next
    },
    setHandler (next) {
      handler = next
    },
    async setDown (next) {
      mode = next
      if (next === 'refuse') await stopListening()
      else if (!listening) await listen(port)
    },
    async close () {
      await stopListening()
    }
  }
  t.teardown(() => jwks.close())
  return jwks
}

/** Assembles a compact JWS from raw parts, as an attacker would: no checks at all. */
export function craftToken (header: object, payload: object, signature = ''): string {
  return `${base64url(header)}.${base64url(payload)}.${signature}`
}

/** An unsecured token (`alg: none` by default; pass `None`, `NONE`…), with an empty signature. */
export function unsignedToken (payload: object, alg = 'none', header: object = {}): string {
  return craftToken({ alg, typ: 'JWT', ...header }, payload, '')
}

/**
 * HS256 over `secret`: the algorithm-confusion attack, where `secret` is the issuer's public
 * key PEM that a naive verifier would use as the HMAC secret.
 */
export function hmacToken (payload: object, secret: string | Uint8Array, header: object = {}): string {
  const input = `${base64url({ alg: 'HS256', typ: 'JWT', ...header })}.${base64url(payload)}`
  return `${input}.${createHmac('sha256', secret).update(input).digest('base64url')}`
}

/** `header.payload.`: the signature removed. */
export function stripSignature (token: string): string {
  return token.slice(0, token.lastIndexOf('.') + 1)
}

/** The same token with its signature's first character changed. */
export function tamperSignature (token: string): string {
  const dot = token.lastIndexOf('.')
  const first = token[dot + 1] === 'A' ? 'B' : 'A'
  return `${token.slice(0, dot + 1)}${first}${token.slice(dot + 2)}`
}

/** The header and signature of `token` around a payload changed by `changes` (`undefined` removes a claim). */
export function tamperPayload (token: string, changes: Record<string, unknown>): string {
  const [header, payload, signature] = token.split('.') as [string, string, string]
  const claims = JSON.parse(Buffer.from(payload, 'base64url').toString('utf8')) as Record<string, unknown>
  return `${header}.${base64url(withoutUndefined({ ...claims, ...changes }))}.${signature}`
}

/** The token cut to 2 parts (`header.payload`) or grown to 4 (`header.payload.signature.signature`). */
export function withPartCount (token: string, parts: 2 | 4): string {
  const segments = token.split('.')
  return parts === 2 ? segments.slice(0, 2).join('.') : [...segments, segments[2]].join('.')
}

/** The token with a character outside the base64url alphabet in its payload (`+`, as plain base64 has). */
export function corruptBase64url (token: string): string {
  const [header, payload, signature] = token.split('.') as [string, string, string]
  return `${header}.${payload.slice(0, 10)}+${payload.slice(11)}.${signature}`
}

/** Header and payload of a token, unverified (for assertions). */
export function decodeToken (token: string): { header: Record<string, unknown>, payload: Record<string, unknown> } {
  const [header, payload] = token.split('.') as [string, string]
  return {
    header: JSON.parse(Buffer.from(header, 'base64url').toString('utf8')),
    payload: JSON.parse(Buffer.from(payload, 'base64url').toString('utf8'))
  }
}
