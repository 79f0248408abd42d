import type { FastifyInstance, FastifyRequest } from 'fastify'
import fp from 'fastify-plugin'
import { activeTracing, type TraceIds } from './tracing.js'

export { otlpProtocol, tracesExporters, tracingRequested, type OtlpProtocol, type TracesExporterName, type TracingEnv } from './env.js'
export { InvalidOptionError } from './errors.js'
export { withTraceLogFields } from './log-fields.js'
export { startTracing, startTracingIfRequested, type TracingOptions } from './start.js'
export { activeTracing, type TraceIds, type Tracing } from './tracing.js'

/**
 * The trace and span ids of `request`'s server span (else of the active span), for an error
 * report's tags; `null` when tracing is off or nothing is traced.
 */
export function traceIds (request?: FastifyRequest | null): TraceIds | null {
  return activeTracing()?.traceIds(request) ?? null
}

async function tracing (app: FastifyInstance) {
  const running = activeTracing()
  // Tracing off: no hook, no decorator, nothing on the request path.
  if (running === null) return
  await app.register(running.fastifyPlugin)
  // Spans still buffered would be lost when the process exits after close.
  app.addHook('onClose', async () => { await running.forceFlush() })
}

/**
 * A server span per request, named by its route (`GET /v1/stories/:id`), continuing an
 * incoming W3C `traceparent`, when `startTracing` has started the SDK; nothing otherwise.
 * Register it first, at the root, before the routes.
 */
export const muejamTracing = fp(tracing, { name: '@muejam/tracing', fastify: '>=5.12.0 <6' })
export default muejamTracing
