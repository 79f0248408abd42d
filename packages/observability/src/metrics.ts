import type { FastifyBaseLogger } from 'fastify'
import { Registry } from 'prom-client'
import type { AuditStats } from './audit.js'
import { registerDefaultMetrics } from './default-metrics.js'
import { PrefixedMetricsRegistry } from './metrics-registry.js'
import { RequestDurationHistogram } from './request-histogram.js'

export interface HttpMetrics {
  metricsRegistry: PrefixedMetricsRegistry
  histogram: RequestDurationHistogram
  /** Requests that went through `onRequest` and have not finished yet. */
  inFlight: number
}

export interface MetricsOptions {
  prefix: string
  buckets: readonly number[]
  defaultMetrics: boolean
  audit: AuditStats
  log: FastifyBaseLogger
}

/**
 * The plugin's own registry (never prom-client's global one) with the metrics this plugin
 * counts itself; other plugins add theirs through `app.metrics`.
 */
export function createMetrics ({ prefix, buckets, defaultMetrics, audit, log }: MetricsOptions): HttpMetrics {
  const registry = new Registry()
  const metrics = new PrefixedMetricsRegistry(registry, prefix, log)
  const http: HttpMetrics = {
    metricsRegistry: metrics,
    histogram: new RequestDurationHistogram(registry, `${prefix}http_request_duration_seconds`, buckets),
    inFlight: 0
  }

  metrics.gauge({
    name: 'http_requests_in_flight',
    help: 'Requests received and not yet answered.',
    collect: () => http.inFlight
  })
  metrics.counter({
    name: 'audit_events_total',
    help: 'Audit events submitted, written or suppressed, by event.',
    labelNames: ['event'],
    collect: () => Object.entries(audit.events).map(([event, value]) => ({ labels: { event }, value }))
  })
  metrics.counter({
    name: 'audit_suppressed_total',
    help: 'Audit lines not written because a client was over its audit limit.',
    collect: () => audit.suppressed
  })

  if (defaultMetrics) registerDefaultMetrics(registry)
  return http
}
