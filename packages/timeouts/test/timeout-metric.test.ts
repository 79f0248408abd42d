import observability from '@muejam/observability'
import { scrapeSamples } from '@muejam/testing/metrics'
import Fastify, { type FastifyInstance } from 'fastify'
import t from 'tap'
import timeouts from '../src/index.js'

const timedOut = async (app: FastifyInstance) => (await scrapeSamples(app)).get('svc_request_timeouts_total')

for (const order of ['timeouts first', 'timeouts last'] as const) {
  t.test(`${order}: request_timeouts_total on app.metrics counts the requests answered 504`, async (t) => {
    const app = Fastify()
    t.teardown(() => app.close())
    if (order === 'timeouts first') await app.register(timeouts, { timeoutMs: 50 })
    await app.register(observability, { defaultMetrics: false, prefix: 'svc_' })
    if (order === 'timeouts last') await app.register(timeouts, { timeoutMs: 50 })
    app.get('/slow', async (request) => {
      await new Promise((resolve) => request.signal.addEventListener('abort', resolve, { once: true }))
      return 'late'
    })
    app.get('/fast', async () => 'fast')
    await app.ready()

    t.equal(await timedOut(app), 0, 'registered, and zero before any timeout')
    t.match((await app.inject('/metrics')).body, '# TYPE svc_request_timeouts_total counter')
    t.equal((await app.inject('/fast')).statusCode, 200)
    for (let i = 0; i < 2; i++) t.equal((await app.inject('/slow')).statusCode, 504)
    t.equal(await timedOut(app), 2)
    t.equal(app.timeouts.stats.timedOut, 2)
  })
}

t.test('without observability the plugin starts and registers no metric', async (t) => {
  const app = Fastify()
  t.teardown(() => app.close())
  await app.register(timeouts, { timeoutMs: 50 })
  await app.ready()
  t.equal(app.hasDecorator('metrics'), false)
})
