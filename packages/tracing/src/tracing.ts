import type { FastifyPluginCallback, FastifyRequest } from 'fastify'

/** The ids a log line or an error report carries to find its trace. */
// A type, not an interface: it is a string record, as error-report tags are.
export type TraceIds = {
  /** 32 hex digits. */
  trace_id: string
  /** 16 hex digits. */
  span_id: string
}

/** The running OpenTelemetry SDK, as `startTracing` leaves it for the rest of the process. */
export interface Tracing {
  /**
   * The ids of `request`'s server span, or of the span active in the current async context
   * (the handler's, a query's); `null` outside any span.
   */
  traceIds (request?: FastifyRequest | null): TraceIds | null
  /** `@fastify/otel`'s plugin, bound to this SDK's tracer provider. */
  readonly fastifyPlugin: FastifyPluginCallback
  /** Exports every ended span still buffered. */
  forceFlush (): Promise<void>
  /** Exports what is buffered and stops tracing. */
  shutdown (): Promise<void>
}

// A global slot rather than a module variable: the preload and the app may load this
// package through different paths, and must still share one SDK.
const kTracing = Symbol.for('@muejam/tracing')

interface TracingSlot { [kTracing]?: Tracing }

/** The SDK `startTracing` started in this process, or `null` when tracing is off. */
export function activeTracing (): Tracing | null {
  return (globalThis as TracingSlot)[kTracing] ?? null
}

export function setActiveTracing (tracing: Tracing | null): void {
  if (tracing === null) delete (globalThis as TracingSlot)[kTracing]
  else (globalThis as TracingSlot)[kTracing] = tracing
}
