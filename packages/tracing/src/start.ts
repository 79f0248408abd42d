import { tracingRequested } from './env.js'
import { InvalidOptionError } from './errors.js'
import { activeTracing, setActiveTracing, type Tracing } from './tracing.js'

export interface TracingOptions {
  /**
   * `service.name` of every span when `OTEL_SERVICE_NAME` (or `service.name` in
   * `OTEL_RESOURCE_ATTRIBUTES`) is unset. Default: the SDK's `unknown_service:node`.
   */
  serviceName?: string
}

function serviceName (value: unknown): string | undefined {
  if (value === undefined) return undefined
  if (typeof value !== 'string' || value.trim() === '') throw new InvalidOptionError('serviceName', 'must be a non-empty string')
  return value
}

/**
 * Starts the OpenTelemetry SDK for this process from the `OTEL_*` variables of
 * `process.env`, once: a second call returns the running SDK. Call it before the app imports
 * `pg` or `ioredis` (a preload: `node --import @muejam/tracing/register app.js`), so that their
 * ES modules can be instrumented. Loads OpenTelemetry only now.
 */
export async function startTracing (options: TracingOptions = {}): Promise<Tracing> {
  const settings = { serviceName: serviceName(options.serviceName), env: process.env }
  const running = activeTracing()
  if (running !== null) return running
  const { startSdk } = await import('./sdk.js')
  const started = await startSdk(settings)
  const tracing: Tracing = {
    ...started,
    shutdown: async () => {
      setActiveTracing(null)
      await started.shutdown()
    }
  }
  setActiveTracing(tracing)
  return tracing
}

/** `startTracing` when `tracingRequested()` says the environment asks for it; `null` otherwise, having loaded nothing. */
export async function startTracingIfRequested (options: TracingOptions = {}): Promise<Tracing | null> {
  return tracingRequested() ? await startTracing(options) : null
}
