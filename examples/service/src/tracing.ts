import type { FastifyInstance, FastifyServerOptions } from 'fastify'
import tracing, { startTracingIfRequested, traceIds, withTraceLogFields } from '@muejam/tracing'

/**
 * OpenTelemetry when OTEL_EXPORTER_OTLP_ENDPOINT (or OTEL_TRACES_EXPORTER) is set, nothing
 * loaded otherwise. Call it before importing the modules that load pg or ioredis (or preload
 * it: node --import @muejam/tracing/register dist/server.js), so their queries are traced.
 */
export async function startServiceTracing () {
  await startTracingIfRequested({ serviceName: 'notes' })
}

/** Adds trace_id and span_id to every log line written inside a traced request. */
export function tracingServerOptions (options: FastifyServerOptions): FastifyServerOptions {
  return withTraceLogFields(options)
}

/** A server span per request, named by its route (GET /v1/notes/:id); first, before the routes. */
export async function registerTracing (app: FastifyInstance) {
  await app.register(tracing)
}

/** The ids to tag an error report with (observability's sentryTags option). */
export const errorReportTags = traceIds
