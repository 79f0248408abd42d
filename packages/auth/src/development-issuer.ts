import { createPrivateKey, createPublicKey, generateKeyPairSync, hash, randomBytes, type KeyObject } from 'node:crypto'
import { chmod, link, lstat, mkdir, readFile, unlink, writeFile } from 'node:fs/promises'
import { join } from 'node:path'
import { createSigner } from 'fast-jwt'

/** The `iss` of development tokens; never a real issuer (`.invalid` is reserved, RFC 2606). */
export const DEVELOPMENT_ISSUER = 'https://development-issuer.muejam.invalid'

const PRIVATE_KEY_FILE = 'development-issuer.private.pem'

export interface DevelopmentTokenClaims {
  /** The user id. */
  sub: string
  /** Session id. Default: a random `sess_dev_…`. */
  sid?: string
  [claim: string]: unknown
}

export interface DevelopmentSignOptions {
  /** Lifetime of the token, in seconds. Default: 3600. */
  expiresInS?: number
}

export interface DevelopmentIssuer {
  /** The issuer to trust (plugin option `issuer`). */
  readonly issuer: string
  /** Its PEM public key (plugin option `publicKey`): verification needs no network. */
  readonly publicKey: string
  /** `kid` of its tokens: derived from the key, so stable across restarts. */
  readonly keyId: string
  /** Where the private key lives (mode 0600). */
  readonly privateKeyPath: string
  /** Signs an RS256 session token: `iss` is set, `sid`, `iat`, `nbf` and `exp` filled in unless given. */
  sign (claims: DevelopmentTokenClaims, options?: DevelopmentSignOptions): string
}

async function ensurePrivateKey (path: string): Promise<void> {
  const { privateKey } = generateKeyPairSync('rsa', { modulusLength: 2048 })
  const pem = privateKey.export({ type: 'pkcs8', format: 'pem' })
  // Written aside then linked into place: concurrent first starts agree on one key, and no
  // process ever reads a half-written file.
  const temporary = `${path}.${process.pid}.${randomBytes(6).toString('hex')}.tmp`
  await writeFile(temporary, pem, { mode: 0o600, flag: 'wx' })
  try {
    await link(temporary, path)
  } catch (error) {
    // EEXIST: another process created it first, and that key is the one everybody uses.
    /* c8 ignore next -- other link failures (EPERM, ENOSPC) cannot be provoked here */
    if ((error as NodeJS.ErrnoException).code !== 'EEXIST') throw error
  } finally {
    await unlink(temporary)
  }
}

async function readPrivateKey (path: string): Promise<KeyObject | undefined> {
  let stats
  try {
    stats = await lstat(path)
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return undefined
    /* c8 ignore next 2 -- an unreadable folder (EACCES); not reproducible when tests run as root */
    throw error
  }
  if (!stats.isFile()) throw new Error(`${path} is not a regular file; refusing to use it as the development issuer's private key`)
  // A key others can read is a key others can sign with.
  if ((stats.mode & 0o077) !== 0) await chmod(path, 0o600)
  return createPrivateKey(await readFile(path))
}

/**
 * The development issuer: an RSA key pair created once under `dir` (private key mode 0600),
 * reused on later starts. The API trusts only it when no issuer is configured, and `pnpm token`
 * signs with it. It is for development: the API must refuse it in production.
 */
export async function loadDevelopmentIssuer (dir: string): Promise<DevelopmentIssuer> {
  await mkdir(dir, { recursive: true, mode: 0o700 })
  const privateKeyPath = join(dir, PRIVATE_KEY_FILE)
  let privateKey = await readPrivateKey(privateKeyPath)
  if (privateKey === undefined) {
    await ensurePrivateKey(privateKeyPath)
    privateKey = await readPrivateKey(privateKeyPath) as KeyObject
  }
  const publicKey = createPublicKey(privateKey).export({ type: 'spki', format: 'pem' }).toString()
  const keyId = `dev-${hash('sha256', publicKey, 'base64url').slice(0, 16)}`
  const signer = createSigner({ key: privateKey.export({ type: 'pkcs8', format: 'pem' }).toString(), algorithm: 'RS256', kid: keyId })

  return Object.freeze({
    issuer: DEVELOPMENT_ISSUER,
    publicKey,
    keyId,
    privateKeyPath,
    sign (claims: DevelopmentTokenClaims, options: DevelopmentSignOptions = {}): string {
      if (typeof claims?.sub !== 'string' || claims.sub === '') throw new TypeError('a development token needs a non-empty sub')
      const now = Math.floor(Date.now() / 1000)
      const expiresInS = options.expiresInS ?? 3600
      return signer({
        sid: `sess_dev_${randomBytes(8).toString('hex')}`,
        iat: now,
        nbf: now,
        exp: now + expiresInS,
        ...claims,
        iss: DEVELOPMENT_ISSUER
      })
    }
  })
}
