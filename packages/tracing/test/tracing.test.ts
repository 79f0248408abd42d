import { setTimeout as sleep } from 'node:timers/promises'
import { context, INVALID_SPAN_CONTEXT, trace } from '@opentelemetry/api'
import Fastify from 'fastify'
import t from 'tap'
import { startCollector, type OtlpSpan } from './helpers/collector.js'

/*
 * The SDK in this process, exporting OTLP/HTTP JSON to a receiver of the test's own, started
 * the way a host starts it: the preload module, with the OTEL_* variables set.
 */

const collector = await startCollector(t)
for (const name of Object.keys(process.env)) if (name.startsWith('OTEL_')) delete process.env[name]
process.env.OTEL_EXPORTER_OTLP_ENDPOINT = collector.url
process.env.OTEL_EXPORTER_OTLP_PROTOCOL = 'http/json'
process.env.OTEL_SERVICE_NAME = 'tracing-package-test'
await import('../src/register.js')
const { default: tracing, activeTracing, InvalidOptionError, startTracing, traceIds, withTraceLogFields } = await import('../src/index.js')

const SERVER = 2

async function spansOf (traceId: string, count: number): Promise<OtlpSpan[]> {
  for (let attempt = 0; attempt < 100; attempt++) {
    const spans = collector.spans.filter((span) => span.traceId === traceId)
    if (spans.length >= count) return spans
    await sleep(50)
  }
  return collector.spans.filter((span) => span.traceId === traceId)
}

t.test('the preload started the SDK once: startTracing returns the running one, and refuses a bad serviceName', async (t) => {
  const running = activeTracing()
  t.ok(running)
  t.equal(await startTracing(), running)
  await t.rejects(startTracing({ serviceName: ' ' }), new InvalidOptionError('serviceName', 'must be a non-empty string'))
  await t.rejects(startTracing({ serviceName: 7 as unknown as string }), { code: 'MUEJAM_TRACING_INVALID_OPTION' })
})

t.test('a request gets one server span named by its route, continuing the incoming traceparent; its log lines carry the ids', async (t) => {
  const lines: Array<Record<string, unknown>> = []
  const app = Fastify(withTraceLogFields({ logger: { level: 'info', stream: { write: (line: string) => { lines.push(JSON.parse(line) as Record<string, unknown>) } } } }))
  await app.register(tracing)
  let inHandler: unknown = null
  let ofRequest: unknown = null
  let afterResponse: unknown = null
  app.addHook('onResponse', async (request) => { afterResponse = traceIds(request) })
  app.get('/v1/stories/:id', async (request) => {
    request.log.info('reading a story')
    inHandler = traceIds()
    ofRequest = traceIds(request)
    return { id: (request.params as { id: string }).id }
  })
  const traceId = '4bf92f3577b34da6a3ce929d0e0e4736'
  const response = await app.inject({ url: '/v1/stories/42?draft=true', headers: { traceparent: `00-${traceId}-00f067aa0ba902b7-01` } })
  t.equal(response.statusCode, 200)
  t.equal((await app.inject('/nowhere')).statusCode, 404)
  app.log.info('outside any request')
  await app.close() // flushes

  const spans = await spansOf(traceId, 2)
  const server = spans.find((span) => span.kind === SERVER)
  t.equal(server?.name, 'GET /v1/stories/:id', 'the route template, no id or query string')
  t.equal(server?.parentSpanId, '00f067aa0ba902b7')
  t.ok(spans.some((span) => span.parentSpanId === server?.spanId), 'the handler span beneath it')
  t.ok(collector.spans.some((span) => span.kind === SERVER && span.name === 'GET' && span.traceId !== traceId), 'an unmatched request is named by its method alone')

  t.same(ofRequest, { trace_id: traceId, span_id: server?.spanId }, 'traceIds(request): the server span')
  t.notMatch(afterResponse, { span_id: server?.spanId }, 'once the server span has ended, traceIds(request) no longer names it')
  t.match(inHandler, { trace_id: traceId, span_id: /^[0-9a-f]{16}$/ }, 'traceIds(): the active span')
  const line = lines.find((entry) => entry.msg === 'reading a story')
  t.equal(line?.trace_id, traceId, 'the request\'s log line carries its trace id')
  t.equal(line?.span_id, (inHandler as { span_id: string }).span_id)
  const outside = lines.find((entry) => entry.msg === 'outside any request')
  t.notOk(outside !== undefined && 'trace_id' in outside, 'a line outside any span has none')
  t.ok(collector.exports.every((entry) => entry.path === '/v1/traces' && entry.contentType === 'application/json'))
})

t.test('withTraceLogFields keeps the host\'s own mixin and leaves a logger that is not an options object alone', async (t) => {
  const lines: Array<Record<string, unknown>> = []
  const app = Fastify(withTraceLogFields({
    logger: { level: 'info', mixin: () => ({ region: 'eu' }), stream: { write: (line: string) => { lines.push(JSON.parse(line) as Record<string, unknown>) } } }
  }))
  await app.register(tracing)
  app.get('/', async (request) => { request.log.info('hello'); return 'ok' })
  await app.inject('/')
  app.log.info('outside')
  await app.close()
  t.match(lines.find((line) => line.msg === 'hello'), { region: 'eu', trace_id: /^[0-9a-f]{32}$/ })
  t.match(lines.find((line) => line.msg === 'outside'), { region: 'eu' })
  const plain = { logger: true }
  t.equal(withTraceLogFields(plain), plain)
})

t.test('traceIds is null outside any span, and for a span whose context is invalid', async (t) => {
  t.equal(traceIds(), null)
  t.equal(traceIds(null), null)
  const invalid = trace.setSpan(context.active(), trace.wrapSpanContext(INVALID_SPAN_CONTEXT))
  t.equal(context.with(invalid, () => traceIds()), null)
})

t.test('shutdown exports what is buffered and stops tracing', async (t) => {
  const running = activeTracing()
  await running?.shutdown()
  t.equal(activeTracing(), null, 'no running SDK any more')
})
