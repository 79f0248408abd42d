import type { FastifyError, FastifyInstance, FastifyReply, FastifyRequest, HookHandlerDoneFunction } from 'fastify'
import fp from 'fastify-plugin'
import { AuditLog, type AuditEvent } from './audit.js'
import { ErrorReporter, type ReportedRequest } from './error-reporter.js'
import { createMetrics } from './metrics.js'
import type { MetricsRegistry } from './metrics-registry.js'
import { metricsRoute } from './metrics-route.js'
import { resolveOptions, type ObservabilityOptions, type Settings } from './options.js'
import { UNMATCHED_ROUTE } from './request-histogram.js'

export { OVERFLOW_KEY, type AuditEvent, type AuditRequest, type AuditStats } from './audit.js'
export { clientNetwork } from './client-network.js'
export { captureCrash } from './error-reporter.js'
export { DuplicateMetricError, InvalidMetricError, InvalidOptionError, MetricsUnauthorizedError, MissingPeerError } from './errors.js'
export { lazyChildLoggerFactory, type ChildLoggerFactory } from './lazy-child-logger.js'
export { loggerOptions, REDACT_PATHS, type FastifyLoggerConfig, type LoggerOptionsInput } from './logger-options.js'
export type { MetricSample, MetricSpec, MetricsRegistry } from './metrics-registry.js'
export type { ObservabilityOptions } from './options.js'
export { MIN_SECRET_LENGTH, REDACTED, SecretRedactor } from './redact.js'
export { requestIdFrom, SANE_REQUEST_ID } from './request-id.js'
export { DEFAULT_DURATION_BUCKETS, UNMATCHED_ROUTE } from './request-histogram.js'

declare module 'fastify' {
  interface FastifyInstance {
    /** Writes one audit line: `{ audit: true, event, actor, target, outcome, request_id, ... }`. */
    audit: (event: AuditEvent, request?: FastifyRequest | null) => void
    /**
     * Like `audit`, for events a client can trigger (bad tokens): at most `auditMaxPerKey`
     * lines per `key` (e.g. `ip:<address>`) per interval, then one summary line with the
     * number suppressed. Every call is still counted in `<prefix>audit_events_total`.
     * Returns whether the line was written.
     */
    auditLimited: (key: string, event: AuditEvent, request?: FastifyRequest | null) => boolean
    /** Reports a handled error to Sentry (no-op without a DSN). 5xx errors are reported already. */
    reportError: (error: unknown, request?: FastifyRequest | null) => void
    /**
     * Where plugins register the metrics they own (`counter`, `gauge`, read at each scrape),
     * under the option `prefix`; `registry` is the prom-client registry behind `/metrics`.
     */
    metrics: MetricsRegistry
  }
}

// Per-request bookkeeping in one decorated slot (a number, not an object): in flight or done.
const kState = Symbol('muejam.observability.state')
const IDLE = 0
const IN_FLIGHT = 1
const DONE = 2
interface Tracked { [kState]: number }

/** The status an error is answered with, as Fastify and problem renderers derive it. */
function statusOf (error: FastifyError | { statusCode?: unknown, status?: unknown }): number {
  const status = error.statusCode ?? (error as { status?: unknown }).status
  return typeof status === 'number' && status >= 400 && status < 600 ? status : 500
}

function routeOf (request: FastifyRequest): string {
  return (request.routeOptions.config.url as string | undefined) ?? UNMATCHED_ROUTE
}

function reported (request: FastifyRequest, status: number, tags: Settings['sentryTags']): ReportedRequest {
  const userId = (request as unknown as { auth?: { userId?: unknown } | null }).auth?.userId
  return {
    id: request.id,
    method: request.method,
    route: routeOf(request),
    status,
    userId: typeof userId === 'string' ? userId : null,
    tags: tags?.(request)
  }
}

async function observability (app: FastifyInstance, options: ObservabilityOptions) {
  const settings = resolveOptions(options)
  const audit = new AuditLog(app.log, {
    maxPerKey: settings.auditMaxPerKey,
    intervalMs: settings.auditIntervalMs,
    maxKeys: settings.auditMaxKeys
  })
  const metrics = createMetrics({
    prefix: settings.prefix,
    buckets: settings.durationBuckets,
    defaultMetrics: settings.defaultMetrics,
    audit: audit.stats,
    log: app.log
  })
  const { histogram } = metrics
  const reporter = settings.sentryDsn === null
    ? null
    : await ErrorReporter.create({
      dsn: settings.sentryDsn,
      environment: settings.sentryEnvironment,
      release: settings.sentryRelease,
      flushTimeoutMs: settings.sentryFlushTimeoutMs,
      redactor: settings.redactor
    })

  app.decorate('metrics', metrics.metricsRegistry)
  app.decorate('audit', (event: AuditEvent, request?: FastifyRequest | null) => audit.write(event, request))
  app.decorate('auditLimited', (key: string, event: AuditEvent, request?: FastifyRequest | null) =>
    audit.writeLimited(key, event, request))
  app.decorate('reportError', (error: unknown, request?: FastifyRequest | null) => {
    if (reporter === null) return
    const status = typeof error === 'object' && error !== null ? statusOf(error) : 500
    reporter.capture(error, request ? reported(request, status, settings.sentryTags) : null)
  })
  app.decorateRequest(kState, IDLE)

  // The hot path: plain callback hooks defined once, nothing allocated per request. The
  // duration is Fastify's own (`reply.elapsedTime`, performance.now() stamps taken when the
  // request is routed and when the response finishes), so no clock is read here.
  app.addHook('onRequest', function onRequest (request: FastifyRequest, reply: FastifyReply, done: HookHandlerDoneFunction) {
    metrics.inFlight++
    ;(request as unknown as Tracked)[kState] = IN_FLIGHT
    reply.header('x-request-id', request.id)
    done()
  })

  app.addHook('onResponse', function onResponse (request: FastifyRequest, reply: FastifyReply, done: HookHandlerDoneFunction) {
    const tracked = request as unknown as Tracked
    const state = tracked[kState]
    if (state !== DONE) {
      if (state === IN_FLIGHT) metrics.inFlight--
      tracked[kState] = DONE
      histogram.observe(routeOf(request), request.method, reply.statusCode, reply.elapsedTime / 1000)
    }
    done()
  })

  // A client that hangs up before the response finishes never gets an onResponse: without
  // this the in-flight gauge would only ever grow.
  app.addHook('onRequestAbort', function onRequestAbort (request: FastifyRequest, done: HookHandlerDoneFunction) {
    const tracked = request as unknown as Tracked
    if (tracked[kState] === IN_FLIGHT) {
      metrics.inFlight--
      tracked[kState] = DONE
    }
    done()
  })

  if (reporter !== null) {
    app.addHook('onError', function onError (request: FastifyRequest, _reply: FastifyReply, error: FastifyError, done: HookHandlerDoneFunction) {
      const status = statusOf(error)
      if (status >= 500) reporter.capture(error, reported(request, status, settings.sentryTags))
      done()
    })
  }

  app.addHook('onClose', async () => {
    audit.close()
    await reporter?.close()
  })

  await app.register(metricsRoute, {
    path: settings.metricsPath,
    token: settings.metricsToken,
    registry: metrics.metricsRegistry.registry,
    audit,
    routeConfig: settings.metricsRouteConfig
  })
}

/**
 * Prometheus `/metrics`, X-Request-Id on every response, the audit log and Sentry error
 * reports. Register it first, at the root, so its hooks see every route and every response.
 */
export const muejamObservability = fp(observability, { name: '@muejam/observability', fastify: '>=5.12.0 <6' })
export default muejamObservability
