import Fastify from 'fastify'
import t from 'tap'
import { loggerOptions, MIN_SECRET_LENGTH, REDACTED, requestIdFrom, SecretRedactor } from '../src/index.js'
import observability from '../src/index.js'
import { LogCapture } from './helpers/app.js'

// A real-looking RS256 JWT (header, payload, signature); its parts must not reach any line.
const JWT = [
  Buffer.from(JSON.stringify({ alg: 'RS256', typ: 'JWT', kid: 'key-1' })).toString('base64url'),
  Buffer.from(JSON.stringify({ sub: 'user_123', sid: 'sess_1', exp: 2_000_000_000 })).toString('base64url'),
  'c2lnbmF0dXJlLWJ5dGVzLXRoYXQtbG9vay1yZWFsLWVub3VnaA'
].join('.')
const COOKIE_VALUE = 'session-cookie-value-8f3a9c'
const SECRET_KEY = 'k3y-Of-fifty-characters-or-more-for-hmac-cursors-0123456789'
const DB_PASSWORD = 'p@ss"w/rd:7Qz!'
const DATABASE_URL = `postgres://app:${encodeURIComponent(DB_PASSWORD)}@db.internal:5432/muejam`
const METRICS_TOKEN = 'metrics-token-with-32-characters-x'
const BODY_MARKER = 'story-body-marker-5d2e'

function forbidden (): string[] {
  const [header, payload, signature] = JWT.split('.') as [string, string, string]
  return [JWT, header, payload, signature, COOKIE_VALUE, SECRET_KEY, DB_PASSWORD, JSON.stringify(DB_PASSWORD).slice(1, -1),
    encodeURIComponent(DB_PASSWORD), DATABASE_URL, METRICS_TOKEN, BODY_MARKER]
}

t.test('a token, a cookie and a secret-bearing config appear in no log line', async (t) => {
  const capture = new LogCapture()
  const app = Fastify({
    logger: { ...loggerOptions({ level: 'debug', secrets: [SECRET_KEY, DB_PASSWORD, DATABASE_URL, METRICS_TOKEN] }), stream: capture },
    genReqId: requestIdFrom
  })
  t.teardown(() => app.close())
  await app.register(observability, { defaultMetrics: false })

  app.log.info({ config: { SECRET_KEY, DATABASE_URL, METRICS_TOKEN, PORT: 3000 } }, 'configuration loaded')
  app.get('/echo', async (request) => {
    // The mistakes a plugin might make: logging headers, a config object, a connection string, a token.
    request.log.info({ headers: request.headers }, 'headers seen')
    request.log.info({ req: { headers: request.headers } }, 'nested headers')
    request.log.info({ authorization: request.headers.authorization, cookie: request.headers.cookie }, 'credentials seen')
    request.log.warn(`connecting to ${DATABASE_URL}`)
    request.log.debug(`verifying token ${JWT} for a user`)
    request.log.info(`raw header: Bearer ${JWT}`)
    request.log.info({ secretKey: SECRET_KEY, nested: { deeper: { password: DB_PASSWORD } } }, 'secrets in fields')
    return { ok: true }
  })
  app.post('/stories', async (_request, reply) => reply.code(201).send({ ok: true }))
  app.get('/crash', async () => {
    throw new Error(`could not connect to ${DATABASE_URL} with ${DB_PASSWORD} and token ${JWT}`)
  })

  const headers = {
    authorization: `Bearer ${JWT}`,
    cookie: `session=${COOKIE_VALUE}; theme=dark`,
    'x-api-key': SECRET_KEY,
    'x-request-id': 'log-test-1'
  }
  t.equal((await app.inject({ url: '/echo', headers })).statusCode, 200)
  t.equal((await app.inject({ method: 'POST', url: '/stories', headers, payload: { title: 'x', content: BODY_MARKER } })).statusCode, 201)
  t.equal((await app.inject({ url: '/crash', headers })).statusCode, 500)

  t.ok(capture.raw.length >= 12, `lines were written (${capture.raw.length})`)
  for (const line of capture.raw) {
    for (const value of forbidden()) {
      if (line.includes(value)) t.fail(`a log line contains ${value.slice(0, 12)}…: ${line.slice(0, 200)}`)
    }
  }
  t.pass('no line contains the token, the cookie, the body or any secret')

  const lines = capture.lines
  const seen = lines.find((line) => line.msg === 'headers seen') as { headers: Record<string, string> }
  t.equal(seen.headers.authorization, REDACTED)
  t.equal(seen.headers.cookie, REDACTED)
  t.equal(seen.headers['x-api-key'], REDACTED)
  t.equal(seen.headers.host, 'localhost:80', 'other headers stay readable')
  const loaded = lines.find((line) => line.msg === 'configuration loaded') as { config: Record<string, unknown> }
  t.same(loaded.config, { SECRET_KEY: REDACTED, DATABASE_URL: REDACTED, METRICS_TOKEN: REDACTED, PORT: 3000 })
  t.ok(lines.some((line) => line.msg === `raw header: Bearer ${REDACTED}`))
  t.ok(lines.some((line) => line.msg === `connecting to ${REDACTED}`))
  const failed = lines.find((line) => line.level === 50) as { err: { message: string } }
  t.match(failed.err.message, `could not connect to ${REDACTED} with ${REDACTED} and token ${REDACTED}`)
})

t.test('every request log line carries the request id under reqId', async (t) => {
  const capture = new LogCapture()
  const app = Fastify({ logger: { ...loggerOptions(), stream: capture }, genReqId: requestIdFrom })
  t.teardown(() => app.close())
  await app.register(observability, { defaultMetrics: false })
  app.get('/work', async (request) => {
    request.log.info('step one')
    request.log.warn({ detail: 'x' }, 'step two')
    return 'done'
  })
  const first = await app.inject({ url: '/work', headers: { 'x-request-id': 'trace-abc' } })
  const second = await app.inject({ url: '/nowhere' })

  const requestLines = capture.lines.filter((line) => line.msg !== 'Server listening')
  t.ok(requestLines.length >= 6)
  for (const line of requestLines) t.ok(typeof line.reqId === 'string', `"${String(line.msg)}" has a reqId`)
  t.same(requestLines.filter((line) => line.reqId === 'trace-abc').map((line) => line.msg),
    ['incoming request', 'step one', 'step two', 'request completed'])
  t.ok(requestLines.some((line) => line.reqId === second.headers['x-request-id'] && line.msg === 'request completed'))
  t.equal(first.headers['x-request-id'], 'trace-abc')
  t.equal(capture.lines.find((line) => line.msg === 'step one')?.level, 30, 'the default level is info')
})

t.test('request bodies are not logged by default', async (t) => {
  const capture = new LogCapture()
  const app = Fastify({ logger: { ...loggerOptions({ level: 'trace' }), stream: capture } })
  t.teardown(() => app.close())
  app.post('/stories', async () => ({ ok: true }))
  await app.inject({ method: 'POST', url: '/stories', payload: { content: BODY_MARKER } })
  t.ok(capture.raw.length >= 2)
  t.notOk(capture.raw.some((line) => line.includes(BODY_MARKER)))
})

t.test('a rotated secret added to a shared SecretRedactor is scrubbed from then on, the old one too', async (t) => {
  const capture = new LogCapture()
  const redactor = new SecretRedactor(['first-secret-value'])
  const app = Fastify({ logger: { ...loggerOptions({ secrets: redactor }), stream: capture } })
  t.teardown(() => app.close())
  await app.ready()
  app.log.info('using second-secret-value')
  redactor.add('second-secret-value')
  app.log.info('using second-secret-value and first-secret-value')
  t.same(capture.lines.map((line) => line.msg), [
    'using second-secret-value',
    `using ${REDACTED} and ${REDACTED}`
  ])
})

t.test('SecretRedactor scrubs every form of a secret and leaves ordinary text alone', async (t) => {
  const redactor = new SecretRedactor(['sh0rt', 'tab\tand"quote', 'user:pa ss@host'])
  t.equal(redactor.size, 5, 'a value shorter than MIN_SECRET_LENGTH is ignored; the others in their distinct forms (3 + 2)')
  t.equal(MIN_SECRET_LENGTH, 6)
  t.equal(redactor.redact('plain text, sh0rt stays'), 'plain text, sh0rt stays')
  t.equal(redactor.redact('raw tab\tand"quote'), `raw ${REDACTED}`)
  t.equal(redactor.redact(JSON.stringify({ v: 'tab\tand"quote' })), `{"v":"${REDACTED}"}`)
  t.equal(redactor.redact('url user%3Apa%20ss%40host'), `url ${REDACTED}`)
  t.equal(redactor.redact(`a ${JWT} b`), `a ${REDACTED} b`)
  t.equal(redactor.redact('Authorization: Bearer abcdefghijklmnop1234'), `Authorization: Bearer ${REDACTED}`)
  t.equal(redactor.redact('BEARER abcdefghijklmnop1234'), `BEARER ${REDACTED}`)
  t.equal(redactor.redact('missing Bearer token'), 'missing Bearer token', 'a short word after Bearer is not a credential')
  t.equal(redactor.redact('eyJ alone is not a token'), 'eyJ alone is not a token')
  redactor.add('tab\tand"quote')
  t.equal(redactor.size, 5, 'adding a value twice changes nothing')
  redactor.add(42 as unknown as string)
  t.equal(redactor.size, 5, 'a non-string is ignored')
  t.equal(new SecretRedactor().redact('nothing to do'), 'nothing to do')
  const nested = { a: 'x tab\tand"quote', b: [{ c: 'tab\tand"quote' }], n: 1, z: null }
  const { redactDeep } = await import('../src/redact.js')
  t.same(redactDeep(nested, redactor), { a: `x ${REDACTED}`, b: [{ c: REDACTED }], n: 1, z: null })
  t.equal(redactDeep(null, redactor), null)
  t.equal(redactDeep('tab\tand"quote', redactor), 'tab\tand"quote', 'only strings inside objects are rewritten')
  let deep: Record<string, unknown> = { leaf: 'tab\tand"quote' }
  for (let i = 0; i < 40; i++) deep = { child: deep }
  redactDeep(deep, redactor)
  let node = deep
  for (let i = 0; i < 40; i++) node = node.child as Record<string, unknown>
  t.equal(node.leaf, 'tab\tand"quote', 'a pathological nesting depth is not walked to the end')
})

t.test('a longer secret that contains a shorter one is replaced whole', async (t) => {
  const redactor = new SecretRedactor(['password1', 'postgres://app:password1@db/x'])
  t.equal(redactor.redact('url postgres://app:password1@db/x'), `url ${REDACTED}`)
})
