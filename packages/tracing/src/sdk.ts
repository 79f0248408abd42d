// Loaded only by `startTracing`, when tracing is on: the one module that imports OpenTelemetry.
import { register } from 'node:module'
import { FastifyOtelInstrumentation } from '@fastify/otel'
import { isSpanContextValid, trace, type Span } from '@opentelemetry/api'
import { OTLPTraceExporter as OtlpJsonExporter } from '@opentelemetry/exporter-trace-otlp-http'
import { OTLPTraceExporter as OtlpProtobufExporter } from '@opentelemetry/exporter-trace-otlp-proto'
import { registerInstrumentations } from '@opentelemetry/instrumentation'
import { IORedisInstrumentation } from '@opentelemetry/instrumentation-ioredis'
import { PgInstrumentation } from '@opentelemetry/instrumentation-pg'
import { UndiciInstrumentation } from '@opentelemetry/instrumentation-undici'
import { defaultResource, detectResources, envDetector, resourceFromAttributes } from '@opentelemetry/resources'
import { BatchSpanProcessor, ConsoleSpanExporter, SimpleSpanProcessor, type SpanExporter, type SpanProcessor } from '@opentelemetry/sdk-trace-base'
import { NodeTracerProvider } from '@opentelemetry/sdk-trace-node'
import type { FastifyPluginCallback, FastifyRequest } from 'fastify'
import { createAddHookMessageChannel } from 'import-in-the-middle'
import { otlpProtocol, tracesExporters, type TracingEnv } from './env.js'
import type { TraceIds, Tracing } from './tracing.js'

export interface SdkSettings {
  serviceName: string | undefined
  env: TracingEnv
}

function spanProcessor (name: 'otlp' | 'console', env: TracingEnv): SpanProcessor {
  if (name === 'console') return new SimpleSpanProcessor(new ConsoleSpanExporter())
  // The exporters read OTEL_EXPORTER_OTLP_* (endpoint, headers, timeout, compression) themselves.
  const exporter: SpanExporter = otlpProtocol(env) === 'http/json' ? new OtlpJsonExporter() : new OtlpProtobufExporter()
  // Batching also reads OTEL_BSP_* (delay, queue and batch sizes).
  return new BatchSpanProcessor(exporter)
}

/** `GET /v1/stories/:id`; the method alone when no route matched (a 404), as the semantic conventions name it. */
function serverSpanName (request: FastifyRequest): string {
  const route = request.routeOptions.url
  return route === undefined ? request.method : `${request.method} ${route}`
}

function idsOf (span: Span | undefined | null): TraceIds | null {
  if (span === undefined || span === null) return null
  const context = span.spanContext()
  return isSpanContextValid(context) ? { trace_id: context.traceId, span_id: context.spanId } : null
}

function serverSpanOf (request: FastifyRequest | null | undefined): Span | null {
  const otel = (request as { opentelemetry?: () => { span?: Span | null } } | null | undefined)?.opentelemetry
  return typeof otel === 'function' ? otel.call(request).span ?? null : null
}

export async function startSdk ({ serviceName, env }: SdkSettings): Promise<Tracing> {
  const processors = tracesExporters(env).map((name) => spanProcessor(name, env))

  // pg and ioredis are loaded as ES modules: import-in-the-middle's loader hook must be in
  // place before the app imports them, and it wraps only the modules an instrumentation asks
  // for (the message channel), not every module of the process.
  const { registerOptions, waitForAllMessagesAcknowledged } = createAddHookMessageChannel()
  register('import-in-the-middle/hook.mjs', import.meta.url, registerOptions)

  // OTEL_SERVICE_NAME and OTEL_RESOURCE_ATTRIBUTES win over the `serviceName` option.
  const resource = defaultResource()
    .merge(resourceFromAttributes(serviceName === undefined ? {} : { 'service.name': serviceName }))
    .merge(detectResources({ detectors: [envDetector] }))
  // Sampling follows OTEL_TRACES_SAMPLER and OTEL_TRACES_SAMPLER_ARG, read by the provider.
  const provider = new NodeTracerProvider({ resource, spanProcessors: processors })
  // The W3C trace-context and baggage propagators, and an AsyncLocalStorage context manager.
  provider.register()

  const fastifyOtel = new FastifyOtelInstrumentation({
    // The request and handler spans only: a span per hook would cost more than it tells.
    instrumentHooks: false,
    requestHook: (span, request) => { span.updateName(serverSpanName(request)) }
  })
  registerInstrumentations({
    tracerProvider: provider,
    instrumentations: [
      fastifyOtel,
      // Queries and Redis commands of a traced request only, not the pool's or the
      // store's background work.
      new PgInstrumentation({ requireParentSpan: true }),
      new IORedisInstrumentation({ requireParentSpan: true }),
      // fetch(): the JWKS fetches, background refreshes included.
      new UndiciInstrumentation()
    ]
  })
  await waitForAllMessagesAcknowledged()

  return {
    traceIds: (request) => idsOf(serverSpanOf(request) ?? trace.getActiveSpan()),
    fastifyPlugin: fastifyOtel.plugin() as FastifyPluginCallback,
    forceFlush: () => provider.forceFlush(),
    shutdown: () => provider.shutdown()
  }
}
