import Fastify, { type FastifyInstance, type FastifyReply, type FastifyRequest, type RouteOptions } from 'fastify'
import fp from 'fastify-plugin'
import t from 'tap'
import timeouts from '../src/index.js'
import { aborted, build, listen, type LogLine, sleep } from './helpers/servers.js'

const unexpected = (lines: LogLine[]) => lines.filter((line) =>
  line.level >= 40 && (line.err as { code?: string } | undefined)?.code !== 'request_timeout')

t.test('with an async onSend hook still writing the 504, a late error or value does not replace it', async (t) => {
  const { app, lines } = await build(t, { timeoutMs: 100 })
  app.addHook('onSend', async () => { await sleep(50) })
  app.get('/reject', async (request) => {
    await aborted(request.signal)
    throw request.signal.reason
  })
  app.get('/resolve', async (request) => {
    await aborted(request.signal)
    return { late: true }
  })
  const base = await listen(app)
  for (const url of ['/reject', '/resolve']) {
    const response = await fetch(`${base}${url}`)
    t.equal(response.status, 504, url)
    t.same(await response.json(), { statusCode: 504, code: 'request_timeout', error: 'Gateway Timeout', message: 'The request did not complete within 100 ms.' })
  }
  await sleep(100)
  t.same(unexpected(lines), [], 'no second reply, no late error logged')
})

/** A plugin wrapping handlers the way a transaction plugin does: it must see the handler's error to roll back. */
function outcomeRecorder (outcomes: string[]) {
  return fp(async (app: FastifyInstance) => {
    app.addHook('onRoute', (route: RouteOptions) => {
      const handler = route.handler as (this: FastifyInstance, request: FastifyRequest, reply: FastifyReply) => Promise<unknown>
      route.handler = async function (this: FastifyInstance, request: FastifyRequest, reply: FastifyReply) {
        try {
          const value = await handler.call(this, request, reply)
          outcomes.push('commit')
          return value
        } catch (error) {
          outcomes.push('rollback')
          throw error
        }
      }
    })
  })
}

for (const order of ['after', 'before'] as const) {
  t.test(`a handler wrapper registered ${order} the plugin still sees the handler's error, and the client gets one 504`, async (t) => {
    const outcomes: string[] = []
    const lines: LogLine[] = []
    const app = Fastify({ logger: { level: 'info', stream: { write: (line: string) => { lines.push(JSON.parse(line) as LogLine) } } } })
    t.teardown(() => app.close())
    if (order === 'before') await app.register(outcomeRecorder(outcomes))
    await app.register(timeouts, { timeoutMs: 100 })
    if (order === 'after') await app.register(outcomeRecorder(outcomes))
    app.addHook('onSend', async () => { await sleep(30) })
    app.get('/write', async (request) => {
      await aborted(request.signal)
      throw request.signal.reason
    })
    app.get('/fast', async () => ({ ok: true }))
    const base = await listen(app)

    const response = await fetch(`${base}/write`)
    t.equal(response.status, 504)
    t.equal(((await response.json()) as { code: string }).code, 'request_timeout')
    t.equal((await fetch(`${base}/fast`)).status, 200)
    await sleep(100)
    t.same(outcomes, ['rollback', 'commit'], 'the timed-out handler rolled back, the fast one committed')
    t.same(unexpected(lines), [])
  })
}

t.test('a later onRoute hook that replaces the handler outright still gets the deadline wrapper', async (t) => {
  const { app } = await build(t, { timeoutMs: 100 })
  app.addHook('onRoute', (route) => {
    if (route.url === '/replaced') {
      route.handler = async function (request: FastifyRequest) {
        await aborted(request.signal)
        throw request.signal.reason
      }
    }
  })
  app.addHook('onSend', async () => { await sleep(30) })
  app.get('/replaced', async () => ({ original: true }))
  const base = await listen(app)
  const response = await fetch(`${base}/replaced`)
  t.equal(response.status, 504)
  t.equal(((await response.json()) as { code: string }).code, 'request_timeout')
})

t.test('a later onRoute hook that wraps or replaces the route error handler keeps the 504 mapping', async (t) => {
  const { app } = await build(t, { timeoutMs: 100 })
  const seen: string[] = []
  app.addHook('onRoute', (route) => {
    if (route.url === '/wrapped') {
      const inner = route.errorHandler as NonNullable<RouteOptions['errorHandler']>
      route.errorHandler = function (error, request, reply) {
        seen.push(String(error.code))
        return inner.call(this, error, request, reply)
      }
    }
    if (route.url === '/replaced') {
      route.errorHandler = (error, _request, reply) => reply.code(error.statusCode ?? 500).send({ replaced: error.code })
    }
  })
  app.get('/wrapped', async () => { await sleep(400) })
  app.get('/replaced', async () => { await sleep(400) })
  const wrapped = await app.inject('/wrapped')
  t.equal(wrapped.statusCode, 504)
  t.equal(wrapped.json().code, 'request_timeout')
  t.same(seen, ['request_timeout'], 'the wrapper saw the 504 error')
  const replaced = await app.inject('/replaced')
  t.equal(replaced.statusCode, 504)
  t.same(replaced.json(), { replaced: 'request_timeout' })
  t.equal(app.timeouts.stats.timedOut, 2)
})
