import { startSentryIngest } from '@muejam/testing/sentry-ingest'
import Fastify, { type FastifyInstance } from 'fastify'
import t from 'tap'
import observability, { captureCrash, requestIdFrom, type ObservabilityOptions } from '../src/index.js'

const JWT = [
  Buffer.from(JSON.stringify({ alg: 'RS256', typ: 'JWT', kid: 'k' })).toString('base64url'),
  Buffer.from(JSON.stringify({ sub: 'user_42', sid: 'sess_9' })).toString('base64url'),
  'c2lnbmF0dXJlLWJ5dGVzLXRoYXQtbG9vay1yZWFsLWVub3VnaA'
].join('.')
const COOKIE_VALUE = 'cookie-value-2b7d1e'
const BODY_MARKER = 'chapter-body-marker-91ac'
const SECRET = 'database-password-6Yt2!'
// Reports carry source lines around each frame: request data stays out of the test's own code near them.
const QUERY = 'draft=true'

interface Teardown { teardown(fn: () => unknown): void }

async function build (t: Teardown, options: ObservabilityOptions): Promise<FastifyInstance> {
  const app = Fastify({ genReqId: requestIdFrom })
  t.teardown(() => app.close())
  await app.register(observability, { defaultMetrics: false, ...options })
  // What the auth plugin leaves on a request, per its contract.
  app.decorateRequest('auth', null)
  app.addHook('preHandler', async (request) => {
    if (request.headers.authorization !== undefined) {
      (request as unknown as { auth: unknown }).auth = { userId: 'user_42', sessionId: 'sess_9' }
    }
  })
  return app
}

function failing (message: string): never {
  throw new Error(message)
}

const credentials = {
  authorization: `Bearer ${JWT}`,
  cookie: `session=${COOKIE_VALUE}`
}

t.test('a thrown error inside a route produces exactly one event, with the request id and no authorization header', async (t) => {
  const ingest = await startSentryIngest(t, { project: 42 })
  const app = await build(t, { sentryDsn: ingest.dsn, sentryEnvironment: 'test', sentryRelease: 'muejam@1.2.3' })
  app.post('/v1/stories/:id/chapters', async () => failing('chapter insert failed'))

  const response = await app.inject({
    method: 'POST',
    url: `/v1/stories/5b1e/chapters?${QUERY}`,
    headers: { ...credentials, 'x-request-id': 'sentry-req-1' },
    payload: { title: 'One', content: BODY_MARKER }
  })
  t.equal(response.statusCode, 500)
  await app.close() // flushes

  const events = ingest.events()
  t.equal(events.length, 1, 'exactly one event')
  t.match(ingest.envelopes[0]?.path, /^\/api\/42\/envelope\/(\?|$)/)
  const event = events[0] as Record<string, any>
  t.match(event.tags, { request_id: 'sentry-req-1', route: '/v1/stories/:id/chapters', method: 'POST' })
  t.equal(String(event.tags.status), '500')
  t.equal(event.transaction, 'POST /v1/stories/:id/chapters')
  t.same(event.user, { id: 'user_42' })
  t.equal(event.environment, 'test')
  t.equal(event.release, 'muejam@1.2.3')
  t.equal(event.exception.values[0].value, 'chapter insert failed')
  t.equal(event.exception.values[0].type, 'Error')
  t.equal(event.request, undefined, 'no request data: no headers, cookies, query string or body')
  t.equal(event.breadcrumbs, undefined)

  const raw = ingest.envelopes.map((envelope) => envelope.raw).join('\n')
  for (const value of [JWT, JWT.split('.')[2] as string, COOKIE_VALUE, BODY_MARKER, QUERY]) {
    t.notOk(raw.includes(value), `the report does not contain ${value.slice(0, 16)}…`)
  }
  t.notOk(/"authorization"|"cookie"|"headers"/i.test(raw), 'no header bag in the report')
})

t.test('only 5xx errors are reported; 4xx are the client\'s business', async (t) => {
  const ingest = await startSentryIngest(t)
  const app = await build(t, { sentryDsn: ingest.dsn })
  const coded = (statusCode: number, code: string) => Object.assign(new Error(code), { statusCode, code })
  app.get('/unauthorized', async () => { throw coded(401, 'token_expired') })
  app.get('/validation', { schema: { querystring: { type: 'object', properties: { n: { type: 'integer' } } } } }, async () => 'ok')
  app.get('/unavailable', async () => { throw coded(503, 'db_unavailable') })
  app.get('/odd-status', async () => { throw Object.assign(new Error('weird'), { statusCode: 700 }) })
  app.get('/legacy-status', async () => { throw Object.assign(new Error('teapot'), { status: 418 }) })

  t.equal((await app.inject('/unauthorized')).statusCode, 401)
  t.equal((await app.inject('/validation?n=abc')).statusCode, 400)
  t.equal((await app.inject('/nowhere')).statusCode, 404)
  t.equal((await app.inject('/unavailable')).statusCode, 503)
  t.equal((await app.inject('/odd-status')).statusCode, 500)
  t.equal((await app.inject('/legacy-status')).statusCode, 418)
  await app.close()

  const events = ingest.events() as Array<Record<string, any>>
  t.same(events.map((event) => [event.tags.route, String(event.tags.status)]).sort(), [
    ['/odd-status', '500'],
    ['/unavailable', '503']
  ])
  t.equal(events.find((event) => event.tags.route === '/unavailable')?.user, undefined, 'no user without request.auth')
})

t.test('secret values and tokens inside an error message are scrubbed from the report', async (t) => {
  const ingest = await startSentryIngest(t)
  const app = await build(t, { sentryDsn: ingest.dsn, secrets: [SECRET] })
  app.get('/connect', async () => failing(`password ${SECRET} rejected for token ${JWT}`))
  t.equal((await app.inject('/connect')).statusCode, 500)
  await app.close()
  const [event] = ingest.events() as Array<Record<string, any>>
  t.equal(event?.exception.values[0].value, 'password [redacted] rejected for token [redacted]')
  const raw = ingest.envelopes.map((envelope) => envelope.raw).join('\n')
  t.notOk(raw.includes(SECRET))
  t.notOk(raw.includes(JWT))
})

t.test('app.reportError reports a handled error with its request; without a DSN it does nothing', async (t) => {
  const ingest = await startSentryIngest(t)
  const app = await build(t, { sentryDsn: ingest.dsn })
  app.get('/v1/me', async (request) => {
    app.reportError(new Error('profile cache refresh failed'), request)
    app.reportError('a string thrown by a library')
    return { ok: true }
  })
  t.equal((await app.inject({ url: '/v1/me', headers: { ...credentials, 'x-request-id': 'handled-1' } })).statusCode, 200)
  await app.close()
  const events = ingest.events() as Array<Record<string, any>>
  t.equal(events.length, 2)
  const handled = events.find((event) => event.tags?.request_id === 'handled-1')
  t.match(handled, { transaction: 'GET /v1/me', user: { id: 'user_42' }, exception: { values: [{ value: 'profile cache refresh failed' }] } })
  t.ok(events.some((event) => event.tags?.request_id === undefined), 'an error without a request carries no request tags')
  app.reportError(new Error('after close'))
  await new Promise((resolve) => setTimeout(resolve, 200))
  t.equal(ingest.events().length, 2, 'a closed app reports nothing more')

  const quiet = await build(t, {})
  quiet.get('/x', async (request) => { quiet.reportError(new Error('nowhere to go'), request); return 'ok' })
  t.equal((await quiet.inject('/x')).statusCode, 200)
})

t.test('sentryTags adds the host\'s tags to a request\'s report (a trace id, say), under the report\'s own', async (t) => {
  const ingest = await startSentryIngest(t)
  const seen: string[] = []
  const app = await build(t, {
    sentryDsn: ingest.dsn,
    sentryTags: (request) => {
      seen.push(request.id)
      return { trace_id: '4bf92f3577b34da6a3ce929d0e0e4736', span_id: '00f067aa0ba902b7', request_id: 'from-the-host' }
    }
  })
  app.get('/v1/stories/:id', async () => failing('story read failed'))
  app.get('/v1/me', async (request) => {
    app.reportError(new Error('handled'), request)
    app.reportError(new Error('without a request'))
    return { ok: true }
  })
  t.equal((await app.inject({ url: '/v1/stories/7', headers: { 'x-request-id': 'tagged-1' } })).statusCode, 500)
  t.equal((await app.inject({ url: '/v1/me', headers: { 'x-request-id': 'tagged-2' } })).statusCode, 200)
  await app.close()

  const events = ingest.events() as Array<Record<string, any>>
  t.equal(events.length, 3)
  const thrown = events.find((event) => event.tags?.request_id === 'tagged-1')
  t.match(thrown?.tags, { trace_id: '4bf92f3577b34da6a3ce929d0e0e4736', span_id: '00f067aa0ba902b7', route: '/v1/stories/:id' })
  const handled = events.find((event) => event.tags?.request_id === 'tagged-2')
  t.match(handled?.tags, { trace_id: '4bf92f3577b34da6a3ce929d0e0e4736', span_id: '00f067aa0ba902b7' })
  t.notOk(events.some((event) => event.tags?.request_id === 'from-the-host'), 'the report\'s request_id wins over the host\'s')
  const bare = events.find((event) => event.tags?.request_id === undefined)
  t.equal(bare?.tags?.trace_id, undefined, 'an error without a request gets no host tags')
  t.same(seen.sort(), ['tagged-1', 'tagged-2'], 'called once per report of a request')
})

t.test('captureCrash reports a fatal event and resolves once it is sent; with no reporter it resolves false', async (t) => {
  t.equal(await captureCrash(new Error('before any reporter')), false)
  const ingest = await startSentryIngest(t)
  const app = await build(t, { sentryDsn: ingest.dsn })
  await app.ready()
  t.equal(await captureCrash(new Error('unhandled rejection in a timer')), true)
  const [event] = ingest.events() as Array<Record<string, any>>
  t.match(event, { level: 'fatal', tags: { crash: true }, exception: { values: [{ value: 'unhandled rejection in a timer', mechanism: { handled: false } }] } })
  await app.close()
  t.equal(await captureCrash(new Error('after close')), false, 'a closed app no longer reports')
  t.equal(ingest.events().length, 1)
})

t.test('no tracing, OpenTelemetry or request instrumentation is set up: a reported app sends errors only', async (t) => {
  const { channel } = await import('node:diagnostics_channel')
  const ingest = await startSentryIngest(t)
  const app = await build(t, { sentryDsn: ingest.dsn })
  app.get('/ok', async () => 'ok')
  await app.ready()
  for (const name of ['http.server.request.start', 'http.client.request.start', 'undici:request:create', 'tracing:fastify.request.handler:start']) {
    t.equal(channel(name).hasSubscribers, false, `nothing listens on ${name}`)
  }
  for (let i = 0; i < 20; i++) await app.inject('/ok')
  await app.close()
  t.same(ingest.envelopes.flatMap((envelope) => envelope.items.map((item) => item.type)), [], 'no transactions, spans, sessions or client reports')
})

t.test('request data, headers and user details added by another Sentry set-up in the host are stripped', async (t) => {
  const Sentry = await import('@sentry/node')
  // A host that also runs Sentry's HTTP integrations ends up with processors like this on the global scope.
  let active = true
  Sentry.getGlobalScope().addEventProcessor((event) => {
    if (!active) return event
    event.request = { method: 'GET', url: `http://api.local/v1/me?${QUERY}`, headers: { authorization: `Bearer ${JWT}` }, cookies: { session: COOKIE_VALUE }, data: BODY_MARKER }
    event.user = { ...event.user, ip_address: '203.0.113.5', email: 'someone@example.org' }
    return event
  })
  t.teardown(() => { active = false })
  const ingest = await startSentryIngest(t)
  const app = await build(t, { sentryDsn: ingest.dsn })
  app.get('/v1/me', async () => failing('profile lookup failed'))
  await app.inject({ url: '/v1/me', headers: credentials })
  await app.inject('/v1/me')
  await app.close()
  const events = ingest.events() as Array<Record<string, any>>
  t.equal(events.length, 2)
  t.same(events.map((event) => event.user).sort((a, b) => Object.keys(b).length - Object.keys(a).length), [{ id: 'user_42' }, {}])
  t.ok(events.every((event) => event.request === undefined))
  const raw = ingest.envelopes.map((envelope) => envelope.raw).join('\n')
  for (const value of [JWT, COOKIE_VALUE, BODY_MARKER, QUERY, '203.0.113.5', 'someone@example.org']) {
    t.notOk(raw.includes(value), `${value.slice(0, 16)}… is not reported`)
  }
})
