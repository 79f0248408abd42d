import Fastify from 'fastify'
import t from 'tap'
import tracing, { activeTracing, startTracingIfRequested, traceIds, withTraceLogFields } from '../src/index.js'

for (const name of Object.keys(process.env)) if (name.startsWith('OTEL_')) delete process.env[name]

t.test('with no OTEL_* variable, nothing starts and the plugin adds nothing to the request path', async (t) => {
  t.equal(await startTracingIfRequested(), null)
  t.equal(activeTracing(), null)
  t.equal(traceIds(), null)

  const app = Fastify()
  t.teardown(() => app.close())
  await app.register(tracing)
  app.get('/v1/stories/:id', async (request) => ({ instrumented: 'opentelemetry' in request }))
  await app.ready()
  t.same((await app.inject('/v1/stories/1')).json(), { instrumented: false }, 'no request decorator')
  t.notOk(app.hasPlugin('@fastify/otel'), '@fastify/otel is not registered')
})

t.test('with tracing off, withTraceLogFields returns the Fastify options as they are', async (t) => {
  const options = { logger: { level: 'info' } }
  t.equal(withTraceLogFields(options), options)
})
