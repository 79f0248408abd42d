import type { FastifyServerOptions } from 'fastify'
import { activeTracing } from './tracing.js'

type Mixin = (mergeObject: object, level: number, logger: unknown) => object

/**
 * The Fastify options with a pino `mixin` that adds `trace_id` and `span_id` to every line
 * logged inside a span (a request's lines, its queries' errors), when tracing is on. With
 * tracing off, or a logger that is not an options object, the options are returned as they are.
 */
export function withTraceLogFields<Options extends Pick<FastifyServerOptions, 'logger'>> (options: Options): Options {
  const tracing = activeTracing()
  const logger = options.logger
  if (tracing === null || typeof logger !== 'object' || logger === null) return options
  const previous = (logger as { mixin?: Mixin }).mixin
  const mixin: Mixin = previous === undefined
    // A new object each time: pino merges the line's fields into what the mixin returns.
    ? () => tracing.traceIds() ?? {}
    : (mergeObject, level, parent) => ({ ...previous(mergeObject, level, parent), ...tracing.traceIds() })
  return { ...options, logger: { ...logger, mixin } }
}
