import Fastify from 'fastify'
import t from 'tap'
import timeouts, { muejamTimeouts, RequestTimeoutError } from '../src/index.js'
import { build, sleep } from './helpers/servers.js'

const slow = (ms: number) => async () => {
  await sleep(ms)
  return { slept: ms }
}

t.test('config.timeout false turns the deadline off for one route', async (t) => {
  const { app } = await build(t, { timeoutMs: 100 })
  app.get('/export', { config: { timeout: false } }, slow(300))
  app.get('/other', slow(300))
  const response = await app.inject('/export')
  t.equal(response.statusCode, 200)
  t.same(response.json(), { slept: 300 })
  t.equal((await app.inject('/other')).statusCode, 504, 'other routes keep the default')
})

t.test('config.timeout overrides the default per route, shorter or longer', async (t) => {
  const { app } = await build(t, { timeoutMs: 5000 })
  app.get('/short', { config: { timeout: 100 } }, slow(400))
  const started = performance.now()
  const response = await app.inject('/short')
  t.equal(response.statusCode, 504)
  t.equal(response.json().message, 'The request did not complete within 100 ms.')
  t.ok(performance.now() - started < 1500, 'the route deadline, not the default, applied')

  const { app: other } = await build(t, { timeoutMs: 100 })
  other.get('/long', { config: { timeout: 2000 } }, slow(300))
  t.equal((await other.inject('/long')).statusCode, 200)
})

t.test('timeoutMs 0 sets no default deadline while routes may still set one', async (t) => {
  const { app } = await build(t, { timeoutMs: 0 })
  app.get('/free', slow(200))
  app.get('/bounded', { config: { timeout: 50 } }, slow(300))
  t.equal((await app.inject('/free')).statusCode, 200)
  t.equal((await app.inject('/bounded')).statusCode, 504)
  t.equal(app.timeouts.timeoutMs, 0)
})

t.test('the default deadline is 30 s', async (t) => {
  const app = Fastify()
  t.teardown(() => app.close())
  await app.register(muejamTimeouts)
  t.ok(app.hasPlugin('@muejam/timeouts'), 'the named export is the plugin')
  app.get('/', async (request) => ({ deadline: request.routeOptions.handlerTimeout }))
  t.same((await app.inject('/')).json(), { deadline: 30_000 })
})

t.test('a route that sets Fastify\'s handlerTimeout keeps it, and its expiry is a 504 request_timeout too', async (t) => {
  const { app } = await build(t, { timeoutMs: 5000 })
  app.get('/own', { handlerTimeout: 80 }, slow(300))
  const response = await app.inject('/own')
  t.equal(response.statusCode, 504)
  t.equal(response.json().code, 'request_timeout')
  t.equal(response.json().message, 'The request did not complete within 80 ms.')
})

t.test('the automatic HEAD route of a GET has the same deadline', async (t) => {
  const { app } = await build(t, { timeoutMs: 100 })
  app.get('/slow', slow(400))
  t.equal((await app.inject({ method: 'HEAD', url: '/slow' })).statusCode, 504)
})

t.test('routes in child plugins registered after the plugin get deadlines too', async (t) => {
  const { app } = await build(t, { timeoutMs: 100 })
  await app.register(async (child) => {
    child.get('/slow', slow(400))
  }, { prefix: '/v1' })
  t.equal((await app.inject('/v1/slow')).statusCode, 504)
})

t.test('the app\'s error handler renders the timeout (problem+json style), other errors reach it unchanged', async (t) => {
  const { app } = await build(t, { timeoutMs: 100 })
  const seen: unknown[] = []
  app.setErrorHandler((error: { statusCode?: number, code?: string, message?: string, extensions?: Record<string, unknown> }, _request, reply) => {
    seen.push(error)
    const status = error.statusCode ?? 500
    return reply.code(status).type('application/problem+json').send({ status, code: error.code, detail: error.message, ...error.extensions })
  })
  app.get('/slow', slow(400))
  app.get('/teapot', async () => { throw Object.assign(new Error('short and stout'), { statusCode: 418, code: 'teapot' }) })
  app.get('/plain-object', async () => { throw { statusCode: 409, code: 'conflict', message: 'taken' } }) // eslint-disable-line no-throw-literal
  app.get('/object-without-message', async () => { throw { statusCode: 400 } }) // eslint-disable-line no-throw-literal
  app.get('/string', async () => { throw 'oops' }) // eslint-disable-line no-throw-literal

  const timedOut = await app.inject('/slow')
  t.equal(timedOut.statusCode, 504)
  t.equal(timedOut.headers['content-type'], 'application/problem+json; charset=utf-8')
  t.same(timedOut.json(), { status: 504, code: 'request_timeout', detail: 'The request did not complete within 100 ms.', timeout_ms: 100 })
  t.type(seen[0], RequestTimeoutError)

  const teapot = await app.inject('/teapot')
  t.equal(teapot.statusCode, 418)
  t.same(teapot.json(), { status: 418, code: 'teapot', detail: 'short and stout' })
  const plain = await app.inject('/plain-object')
  t.equal(plain.statusCode, 409)
  t.same(plain.json(), { status: 409, code: 'conflict', detail: 'taken' })
  const bare = await app.inject('/object-without-message')
  t.equal(bare.statusCode, 400)
  t.equal(bare.json().detail, 'A non-error value was thrown')
  const text = await app.inject('/string')
  t.equal(text.statusCode, 500)
  t.equal(text.json().detail, 'oops')
})

t.test('a route\'s own error handler receives the timeout as a RequestTimeoutError, and its other errors', async (t) => {
  const { app } = await build(t, { timeoutMs: 100 })
  const seen: unknown[] = []
  app.get('/slow', {
    errorHandler: (error, _request, reply) => {
      seen.push(error)
      return reply.code(error.statusCode ?? 500).send({ handled: error.code })
    }
  }, async (request) => {
    if (request.headers['x-fail'] !== undefined) throw Object.assign(new Error('bad'), { statusCode: 400, code: 'bad_input' })
    await sleep(400)
    return { late: true }
  })
  const response = await app.inject('/slow')
  t.equal(response.statusCode, 504)
  t.same(response.json(), { handled: 'request_timeout' })
  t.type(seen[0], RequestTimeoutError)
  const failed = await app.inject({ url: '/slow', headers: { 'x-fail': '1' } })
  t.equal(failed.statusCode, 400)
  t.same(failed.json(), { handled: 'bad_input' })
  t.equal(app.timeouts.stats.timedOut, 1)
})

t.test('a bad config.timeout stops the route from registering with MUEJAM_TIMEOUTS_INVALID_ROUTE_TIMEOUT', async (t) => {
  for (const timeout of [0, -5, 1.5, 2_147_483_648, '100', true, null, Number.NaN, () => 100]) {
    const app = Fastify()
    await app.register(timeouts, { timeoutMs: 1000 })
    t.throws(() => app.get('/x', { config: { timeout: timeout as never } }, async () => 'x'), {
      code: 'MUEJAM_TIMEOUTS_INVALID_ROUTE_TIMEOUT',
      message: /GET \/x/
    }, `config.timeout ${String(timeout)}`)
    await app.close()
  }
})

t.test('a bad timeoutMs stops registration with MUEJAM_TIMEOUTS_INVALID_OPTION', async (t) => {
  for (const timeoutMs of [-1, 1.5, '30000', 2_147_483_648]) {
    const app = Fastify()
    await t.rejects(async () => { await app.register(timeouts, { timeoutMs: timeoutMs as never }).ready() }, {
      code: 'MUEJAM_TIMEOUTS_INVALID_OPTION',
      message: /timeoutMs/
    }, `timeoutMs ${String(timeoutMs)}`)
    await app.close()
  }
})
