import { randomBytes } from 'node:crypto'
import { Agent, request as httpRequest } from 'node:http'
import { connect, type AddressInfo } from 'node:net'
import { connectAdmin } from '@muejam/testing/database'
import { startPgbouncer } from '@muejam/testing/pgbouncer'
import { startSentryIngest } from '@muejam/testing/sentry-ingest'
import type { FastifyInstance } from 'fastify'
import { sql } from 'kysely'
import t, { type Test } from 'tap'
import { startApiProcess } from './helpers/api-process.js'
import { authHeaders, signToken } from './helpers/auth.js'
import { build, createRoleDatabase, databaseEnv, inspectDatabase } from './helpers/build.js'
import { samplesOf, scrape, valueOf } from './helpers/metrics.js'
import { createStory } from './helpers/stories.js'

type Line = Record<string, unknown>

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/
const COOKIE = `__session=${randomBytes(24).toString('base64url')}; __client_uat=1764262800`
const COOKIE_VALUE = COOKIE.slice('__session='.length, COOKIE.indexOf(';'))
const BODY_MARKER = `chapter-text-${randomBytes(6).toString('hex')}`

/** A token past its expiry: refused with token_expired before its signature is looked at. */
function expiredToken (userId: string): string {
  return signToken(userId, { iat: 1_700_000_000, nbf: 1_700_000_000, exp: 1_700_000_600 })
}

/** Every form of a credential that must not reach a log line: the whole, and each part of a JWT. */
function credentialForms (values: Record<string, string>): Array<[string, string]> {
  return Object.entries(values).flatMap(([name, value]) => {
    const parts = value.split('.')
    return [[name, value] as [string, string], ...(parts.length === 3 ? parts.slice(1).filter((part) => part.length >= 16).map((part, i) => [`${name} part ${i + 2}`, part] as [string, string]) : [])]
  })
}

function assertNoneIn (t: Test, text: string, forbidden: Array<[string, string]>, where: string) {
  const found = forbidden.filter(([, value]) => text.includes(value)).map(([name]) => name)
  t.same(found, [], `no secret, token or cookie in ${where}`)
}

t.test('with a secret-bearing configuration, no token, cookie or secret appears in any log line: success, auth failure, 500', async (t) => {
  const ingest = await startSentryIngest(t)
  const env = await databaseEnv(t, 'logging')
  // The test server logs in by trust and never asks for it; the API still holds it as a secret.
  const password = randomBytes(18).toString('base64url')
  const databaseUrl = new URL(env.DATABASE_URL)
  databaseUrl.password = password
  const secrets = {
    SECRET_KEY: randomBytes(48).toString('base64url'),
    METRICS_TOKEN: randomBytes(32).toString('base64url'),
    DATABASE_URL: databaseUrl.href,
    SENTRY_DSN: ingest.dsn
  }
  const logs: Line[] = []
  const app = await build(t, { ...env, ...secrets, LOG_LEVEL: 'trace' }, { logs })
  const db = inspectDatabase(t, env.DATABASE_URL)
  const token = signToken('user_2abcLogged')
  const expired = expiredToken('user_2abcLogged')
  const credentials = { authorization: `Bearer ${token}`, cookie: COOKIE }

  const me = await app.inject({ url: '/v1/me', headers: credentials })
  t.equal(me.statusCode, 200)
  const created = await app.inject({ method: 'POST', url: '/v1/stories', headers: credentials, body: { title: 'Logged', chapters: [{ title: 'One', content: BODY_MARKER }] } })
  t.equal(created.statusCode, 201)
  const refused = await app.inject({ url: '/v1/me', headers: { authorization: `Bearer ${expired}`, cookie: COOKIE } })
  t.equal(refused.json().code, 'token_expired')
  t.equal((await app.inject({ url: '/metrics', headers: { authorization: `Bearer ${secrets.METRICS_TOKEN.slice(1)}`, cookie: COOKIE } })).statusCode, 401)
  t.equal((await app.inject({ url: '/metrics', headers: { authorization: `Bearer ${secrets.METRICS_TOKEN}` } })).statusCode, 200)
  // An honest 500: the database refuses every new chapter, and its error quotes the row —
  // the request body — in its detail.
  await sql`alter table chapters add constraint chapters_refused check (false) not valid`.execute(db)
  const failed = await app.inject({ method: 'POST', url: '/v1/stories', headers: credentials, body: { title: 'Refused', chapters: [{ title: 'Two', content: BODY_MARKER }] } })
  t.equal(failed.statusCode, 500)
  t.equal(failed.json().code, 'internal_error')
  await app.close()

  t.ok(logs.length >= 5, `${logs.length} lines captured`)
  t.match(logs.find((line) => line.level === 50 && line.reqId === failed.headers['x-request-id']), { msg: 'request failed', err: { message: /chapters_refused/, code: '23514' } },
    'the 500 is logged with its request id and error')
  t.match(logs.find((line) => line.event === 'auth.failed'), { audit: true, reason: 'token_expired', request_id: refused.headers['x-request-id'] })
  t.match(logs.find((line) => line.event === 'user.first_sign_in'), { actor: 'user_2abcLogged', request_id: me.headers['x-request-id'] })
  const loaded = logs.find((line) => line.event === 'config.loaded') as { sources: { environment: string[] } }
  t.ok(['SECRET_KEY', 'METRICS_TOKEN', 'DATABASE_URL', 'SENTRY_DSN'].every((name) => loaded.sources.environment.includes(name)),
    'the configuration line names the secrets\' sources, not their values')

  const forbidden = credentialForms({
    token,
    expired,
    'cookie value': COOKIE_VALUE,
    'request body': BODY_MARKER,
    ...secrets,
    'database password': password,
    'sentry key': ingest.publicKey
  })
  assertNoneIn(t, logs.map((line) => JSON.stringify(line)).join('\n'), forbidden, 'the captured lines')

  const events = ingest.events()
  t.equal(events.length, 1, 'the 500 was reported')
  // The DSN's public key is how the SDK addresses the ingest endpoint: it is in every envelope by design.
  assertNoneIn(t, ingest.raw(), forbidden.filter(([name]) => name !== 'sentry key' && name !== 'SENTRY_DSN'), 'the error report')
})

t.test('the built server, with a password role through pgbouncer and every secret set, writes none of them to stdout or stderr', async (t) => {
  const { database, role, password } = await createRoleDatabase(t, 'logging_process')
  // pgbouncer checks the password against the role's, as PostgreSQL stores it.
  const bouncer = await startPgbouncer(t, { databaseUrl: database.url, passwordAuth: true })
  const ingest = await startSentryIngest(t)
  const secrets = {
    SECRET_KEY: randomBytes(48).toString('base64url'),
    METRICS_TOKEN: randomBytes(32).toString('base64url'),
    DATABASE_URL: bouncer.url(role, password),
    SENTRY_DSN: ingest.dsn
  }
  const server = await startApiProcess(t, { ...secrets, LOG_LEVEL: 'trace', MIGRATE_ON_START: 'true', DB_POOL_MAX: '3' })
  const token = signToken('user_2abcProcess')
  const expired = expiredToken('user_2abcProcess')
  const credentials = { authorization: `Bearer ${token}`, cookie: COOKIE, 'content-type': 'application/json' }
  const send = (path: string, init: { method?: string, headers?: Record<string, string>, body?: unknown } = {}) =>
    fetch(`${server.url}${path}`, { method: init.method ?? 'GET', headers: init.headers, body: init.body === undefined ? undefined : JSON.stringify(init.body) })

  t.equal((await send('/v1/me', { headers: credentials })).status, 200, 'the password role works through pgbouncer')
  t.equal((await send('/v1/stories', { method: 'POST', headers: credentials, body: { title: 'Logged', chapters: [{ title: 'One', content: BODY_MARKER }] } })).status, 201)
  const refused = await send('/v1/stories', { method: 'POST', headers: { ...credentials, authorization: `Bearer ${expired}` }, body: { title: 'No' } })
  t.equal(refused.status, 401)
  t.equal((await send('/metrics', { headers: { authorization: `Bearer ${secrets.METRICS_TOKEN.slice(1)}` } })).status, 401)
  t.equal((await send('/metrics', { headers: { authorization: `Bearer ${secrets.METRICS_TOKEN}` } })).status, 200)
  // An honest 500: the database refuses every new chapter (its error quotes the row).
  const client = await connectAdmin(database.url)
  await client.query('alter table chapters add constraint chapters_refused check (false) not valid').finally(() => client.end())
  const failed = await send('/v1/stories', { method: 'POST', headers: credentials, body: { title: 'Refused', chapters: [{ title: 'Two', content: BODY_MARKER }] } })
  t.equal(failed.status, 500)
  t.equal((await server.terminate()).code, 0, 'a clean shutdown')

  const output = server.output()
  t.ok(server.logs().some((line) => line.level === 50 && line.reqId === failed.headers.get('x-request-id')), 'the 500 is in the log, with its request id')
  t.ok(server.logs().some((line) => line.event === 'auth.failed' && line.request_id === refused.headers.get('x-request-id')), 'the refused token is audited')
  t.ok(server.logs().some((line) => line.event === 'metrics.auth_failed'), 'the refused scrape is audited')
  assertNoneIn(t, output, credentialForms({
    token,
    expired,
    'cookie value': COOKIE_VALUE,
    'request body': BODY_MARKER,
    ...secrets,
    'database password': password,
    'database password, URL-encoded': encodeURIComponent(password),
    'sentry key': ingest.publicKey
  }), `the process output (${server.logs().length} lines)`)
  t.equal(ingest.events().length, 1, 'the 500 was reported once before exit')
})

t.test('a forged X-Request-Id (a newline, 129 or 1 000 characters) is replaced, never echoed; a sane one is kept everywhere', async (t) => {
  const logs: Line[] = []
  const app = await build(t, await databaseEnv(t, 'request_ids'), { logs })

  const sane = 'edge-7f3a.retry_2'
  const kept = await app.inject({ url: '/v1/me', headers: { 'x-request-id': sane, authorization: `Bearer ${expiredToken('user_2abcIds')}` } })
  t.equal(kept.headers['x-request-id'], sane)
  t.equal(kept.json().request_id, sane, 'in the problem body')
  t.equal(logs.find((line) => line.event === 'auth.failed')?.request_id, sane, 'in the audit line')
  const longest = 'a'.repeat(128)
  t.equal((await app.inject({ url: '/v1/stories', headers: { 'x-request-id': longest } })).headers['x-request-id'], longest, '128 characters are still sane')

  const forged = ['abc\ninjected: 1', 'abc\r\nset-cookie: x=1', 'b'.repeat(129), 'c'.repeat(1000), 'with space', 'comma,separated', 'ünïcode']
  for (const [n, value] of forged.entries()) {
    const before = logs.length
    // A client of its own each, so the audit line of its refusal is not held back by the limit per client.
    const response = await app.inject({ url: '/v1/me', remoteAddress: `203.0.113.${n + 1}`, headers: { 'x-request-id': value, authorization: `Bearer ${expiredToken('user_2abcIds')}` } })
    const id = response.headers['x-request-id'] as string
    t.match(id, UUID, `${JSON.stringify(value.slice(0, 20))} is replaced by a fresh id`)
    t.equal(response.json().request_id, id, 'the body carries the replacement')
    const lines = logs.slice(before)
    t.ok(lines.length > 0 && lines.every((line) => line.request_id === id || line.reqId === id), 'so do its log lines')
    t.notOk(JSON.stringify(lines).includes(value.slice(0, 10)), 'the forged value is nowhere in the log')
    t.equal(response.headers['set-cookie'], undefined)
  }

  // The same over a real socket: a 1 000-character id is replaced; a raw newline never gets
  // past Node's HTTP parser.
  await app.listen({ host: '127.0.0.1', port: 0 })
  const { port } = app.server.address() as AddressInfo
  async function raw (header: string): Promise<string> {
    const socket = connect(port, '127.0.0.1')
    socket.write(`GET /v1/stories HTTP/1.1\r\nHost: api\r\n${header}\r\nConnection: close\r\n\r\n`)
    let text = ''
    for await (const chunk of socket) text += String(chunk)
    return text
  }
  const long = await raw(`X-Request-Id: ${'d'.repeat(1000)}`)
  t.match(long, /^HTTP\/1\.1 200 /)
  t.match(/\r\nx-request-id: ([^\r]*)\r\n/i.exec(long)?.[1], UUID)
  t.notOk(long.includes('d'.repeat(129)))
  for (const header of ['X-Request-Id: abc\ninjected: 1', 'X-Request-Id: abc\r\n injected: 1']) {
    const answer = await raw(header)
    t.match(answer, /^HTTP\/1\.1 400 /, `${JSON.stringify(header)} is refused by the HTTP parser`)
    t.notOk(answer.toLowerCase().includes('injected'))
  }
})

/** Sends `count` requests over `connections` keep-alive sockets; resolves with their statuses. */
async function flood (app: FastifyInstance, tokens: string[], connections: number): Promise<number[]> {
  const { port } = app.server.address() as AddressInfo
  const agent = new Agent({ keepAlive: true, maxSockets: connections })
  const one = (token: string) => new Promise<number>((resolve, reject) => {
    const request = httpRequest({ host: '127.0.0.1', port, path: '/v1/me', agent, headers: { authorization: `Bearer ${token}` } }, (response) => {
      response.resume()
      response.on('end', () => resolve(response.statusCode ?? 0))
    })
    request.on('error', reject)
    request.end()
  })
  try {
    return await Promise.all(tokens.map(one))
  } finally {
    agent.destroy()
  }
}

t.test('1 000 bad tokens from one client in about a second: 5 audit lines and one summary, yet every one counted in metrics', async (t) => {
  const logs: Line[] = []
  const metricsToken = randomBytes(32).toString('base64url')
  // Failed authentication spends the client's anonymous budget: room for the whole flood.
  const app = await build(t, { ...await databaseEnv(t, 'audit_flood'), METRICS_TOKEN: metricsToken, RATE_LIMIT_MAX: '2000' }, { logs })
  await app.listen({ host: '127.0.0.1', port: 0 })

  const expired = expiredToken('user_2abcFlood')
  const [header, payload] = signToken('user_2abcFlood').split('.') as [string, string]
  const forged = `${header}.${payload}.${signToken('user_2abcOther').split('.')[2]}`
  const tokens = Array.from({ length: 1000 }, (_, n) => n % 10 < 4 ? expired : n % 10 < 7 ? forged : `not-a-token-${n}`)
  const started = performance.now()
  const statuses = await flood(app, tokens, 16)
  const elapsedMs = performance.now() - started
  t.comment(`1 000 refusals over 16 connections in ${elapsedMs.toFixed(0)} ms`)
  t.same([...new Set(statuses)], [401], 'every one refused')
  t.ok(elapsedMs < 20_000, 'within the audit window, with room for a loaded machine')

  const written = logs.filter((line) => line.event === 'auth.failed')
  t.equal(written.length, 5, 'five lines for this client in the window')
  t.ok(written.every((line) => line.audit === true && line.actor === null && typeof line.request_id === 'string' && typeof line.reason === 'string'))

  const { samples } = await scrape(app, metricsToken)
  t.equal(valueOf(samples, 'muejam_auth_failures_total', { reason: 'token_expired' }), 400)
  t.equal(valueOf(samples, 'muejam_auth_failures_total', { reason: 'token_invalid_signature' }), 300)
  t.equal(valueOf(samples, 'muejam_auth_failures_total', { reason: 'token_malformed' }), 300)
  t.equal(samplesOf(samples, 'muejam_auth_failures_total').reduce((sum, sample) => sum + sample.value, 0), 1000, 'all 1 000 counted')
  t.equal(valueOf(samples, 'muejam_audit_events_total', { event: 'auth.failed' }), 1000, 'every attempt reached the audit log\'s counter')
  t.equal(valueOf(samples, 'muejam_audit_suppressed_total'), 995)
  t.equal(valueOf(samples, 'muejam_http_request_duration_seconds_count', { method: 'GET', route: '/v1/me', status: '401' }), 1000)

  await app.close()
  const summaries = logs.filter((line) => line.event === 'audit.suppressed')
  t.equal(summaries.length, 1, 'one summary when the window closes')
  t.match(summaries[0], { audit: true, target: 'ip:127.0.0.1', outcome: 'suppressed', suppressed: 995, events: { 'auth.failed': 995 } })
  t.equal(logs.filter((line) => line.audit === true && line.event !== 'config.loaded').length, 6, '6 audit lines in all for 1 000 attempts')
})

t.test('a moderator deleting another user\'s story writes exactly one audit line naming the moderator and the author', async (t) => {
  const env = await databaseEnv(t, 'audit_moderator')
  const logs: Line[] = []
  const app = await build(t, env, { logs })
  const db = inspectDatabase(t, env.DATABASE_URL)
  const moderator = 'user_2abcAuditModerator'
  const author = 'user_2abcAuditAuthor'
  const profile = await db.insertInto('user_profiles').values({ clerk_user_id: moderator, handle: 'reader_auditmod', display_name: 'Moderator' })
    .returning('id').executeTakeFirstOrThrow()
  await db.insertInto('moderator_roles').values({ user_id: profile.id, role: 'moderator' }).execute()
  const spam = await createStory(app, author, { title: 'Spam', publish: true })
  const own = await createStory(app, author, { title: 'Withdrawn', publish: true })
  const kept = await createStory(app, author, { title: 'Kept', publish: true })

  const refused = await app.inject({ method: 'DELETE', url: `/v1/stories/${kept.id}`, headers: authHeaders('user_2abcAuditBystander') })
  t.equal(refused.statusCode, 403)
  t.equal(refused.json().code, 'forbidden')
  t.equal((await app.inject({ method: 'DELETE', url: `/v1/stories/${own.id}`, headers: authHeaders(author) })).statusCode, 204, 'an author deleting their own story')
  const before = logs.length
  const deleted = await app.inject({ method: 'DELETE', url: `/v1/stories/${spam.id}`, headers: authHeaders(moderator) })
  t.equal(deleted.statusCode, 204)

  const lines = logs.filter((line) => line.event === 'story.deleted_by_moderator')
  t.equal(lines.length, 1, 'exactly one line, for the moderator action only')
  t.match(lines[0], { audit: true, actor: moderator, owner: author, target: spam.id, outcome: 'success', request_id: deleted.headers['x-request-id'] })
  t.same(logs.slice(before).filter((line) => line.audit === true), lines, 'and no other audit line for that request')
  const row = await db.selectFrom('stories').select('deleted_at').where('id', '=', spam.id).executeTakeFirstOrThrow()
  t.ok(row.deleted_at instanceof Date, 'the story is deleted')
  const untouched = await db.selectFrom('stories').select('deleted_at').where('id', '=', kept.id).executeTakeFirstOrThrow()
  t.equal(untouched.deleted_at, null, 'the refused delete changed nothing')
})
