import { setTimeout as sleep } from 'node:timers/promises'
import Fastify from 'fastify'
import t from 'tap'
import { startCollector } from './helpers/collector.js'

const collector = await startCollector(t)
for (const name of Object.keys(process.env)) if (name.startsWith('OTEL_')) delete process.env[name]
process.env.OTEL_EXPORTER_OTLP_TRACES_ENDPOINT = `${collector.url}/custom/traces`
process.env.OTEL_TRACES_EXPORTER = 'otlp,console'
const { default: tracing, startTracingIfRequested } = await import('../src/index.js')

t.test('by default spans go out as OTLP/HTTP protobuf, to OTEL_EXPORTER_OTLP_TRACES_ENDPOINT as given', async (t) => {
  const started = await startTracingIfRequested({ serviceName: 'protobuf-test' })
  t.ok(started)
  const app = Fastify()
  await app.register(tracing)
  app.get('/v1/stories/:id', async () => ({ ok: true }))
  t.equal((await app.inject('/v1/stories/1')).statusCode, 200)
  await app.close()
  for (let attempt = 0; attempt < 100 && collector.exports.length === 0; attempt++) await sleep(50)
  const sent = collector.exports[0]
  t.equal(sent?.path, '/custom/traces')
  t.equal(sent?.contentType, 'application/x-protobuf')
  t.ok(sent?.body.includes(Buffer.from('GET /v1/stories/:id')), 'the span name is in the protobuf payload')
  t.ok(sent?.body.includes(Buffer.from('protobuf-test')), 'and the service name')
  await started?.shutdown()
})
