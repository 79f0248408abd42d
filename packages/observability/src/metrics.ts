import { Counter, Gauge, Registry, collectDefaultMetrics } from 'prom-client'
import type { AuditStats } from './audit.js'
import { RequestDurationHistogram } from './request-histogram.js'

/**
 * The counters other plugins expose as plain numbers on their decorators, read at scrape
 * time. Everything is optional and checked: a plugin that is absent (or not yet updated)
 * simply contributes no samples.
 */
export interface PeerDecorators {
  auth?: unknown
  rateLimit?: unknown
  dbPool?: unknown
  health?: unknown
  timeouts?: unknown
}

export interface HttpMetrics {
  registry: Registry
  histogram: RequestDurationHistogram
  /** Requests that went through `onRequest` and have not finished yet. */
  inFlight: number
}

export interface MetricsOptions {
  buckets: readonly number[]
  defaultMetrics: boolean
  peers: PeerDecorators
  audit: AuditStats
}

function record (value: unknown): Record<string, unknown> | undefined {
  return typeof value === 'object' && value !== null ? value as Record<string, unknown> : undefined
}

function count (value: unknown): number | undefined {
  return typeof value === 'number' && Number.isFinite(value) && value >= 0 ? value : undefined
}

// prom-client registers a metric when it is constructed; these name that side effect.
function gauge<T extends string> (config: ConstructorParameters<typeof Gauge<T>>[0]): Gauge<T> {
  return new Gauge(config)
}

function counter<T extends string> (config: ConstructorParameters<typeof Counter<T>>[0]): Counter<T> {
  return new Counter(config)
}

/** A counter whose value is owned elsewhere as a cumulative number: set from it at scrape time. */
function mirroredCounter (registry: Registry, name: string, help: string, read: () => unknown) {
  return counter({
    name,
    help,
    registers: [registry],
    collect () {
      this.reset()
      const value = count(read())
      if (value !== undefined) this.inc(value)
    }
  })
}

interface PoolStats { pool: string, total: number, idle: number, waiting: number }

function poolStats (dbPool: unknown): PoolStats[] {
  const stats = record(dbPool)?.stats
  if (typeof stats !== 'function') return []
  let rows: unknown
  try {
    rows = stats.call(dbPool)
  } catch {
    return []
  }
  if (!Array.isArray(rows)) return []
  return rows.filter((row): row is PoolStats => {
    const r = record(row)
    return r !== undefined && typeof r.pool === 'string' &&
      count(r.total) !== undefined && count(r.idle) !== undefined && count(r.waiting) !== undefined
  })
}

function poolGauge (registry: Registry, name: string, help: string, peers: PeerDecorators, field: 'total' | 'idle' | 'waiting') {
  return gauge({
    name,
    help,
    labelNames: ['pool'],
    registers: [registry],
    collect () {
      this.reset()
      for (const row of poolStats(peers.dbPool)) this.set({ pool: row.pool }, row[field])
    }
  })
}

function lastHealthReport (health: unknown) {
  const report = record(record(health)?.lastReport)
  return report !== undefined && typeof report.status === 'string' ? report : undefined
}

/** The plugin's own registry (never prom-client's global one) with every metric of the README. */
export function createMetrics ({ buckets, defaultMetrics, peers, audit }: MetricsOptions): HttpMetrics {
  const registry = new Registry()
  const metrics: HttpMetrics = {
    registry,
    histogram: new RequestDurationHistogram(registry, buckets),
    inFlight: 0
  }

  gauge({
    name: 'muejam_http_requests_in_flight',
    help: 'Requests received and not yet answered.',
    registers: [registry],
    collect () {
      this.set(metrics.inFlight)
    }
  })

  counter({
    name: 'muejam_auth_failures_total',
    help: 'Rejected credentials, by reason (token_expired, token_invalid_signature, ...).',
    labelNames: ['reason'],
    registers: [registry],
    collect () {
      this.reset()
      const failures = record(record(record(peers.auth)?.stats)?.failures)
      for (const [reason, value] of Object.entries(failures ?? {})) {
        const n = count(value)
        if (n !== undefined) this.inc({ reason }, n)
      }
    }
  })

  const rateLimitStats = () => record(record(peers.rateLimit)?.stats)
  mirroredCounter(registry, 'muejam_rate_limit_refused_total', 'Requests refused with 429 by the rate limit.',
    () => rateLimitStats()?.refused)
  mirroredCounter(registry, 'muejam_rate_limit_store_errors_total', 'Rate-limit store (Redis) calls that failed or timed out.',
    () => rateLimitStats()?.storeErrors)
  mirroredCounter(registry, 'muejam_request_timeouts_total', 'Requests that passed their deadline.',
    () => record(record(peers.timeouts)?.stats)?.timedOut)

  poolGauge(registry, 'muejam_db_pool_connections', 'Open connections, by pool.', peers, 'total')
  poolGauge(registry, 'muejam_db_pool_idle_connections', 'Idle connections, by pool.', peers, 'idle')
  poolGauge(registry, 'muejam_db_pool_waiting_requests', 'Queries waiting for a connection, by pool.', peers, 'waiting')

  gauge({
    name: 'muejam_health_status',
    help: 'Overall health of the last health report: 1 for its status (healthy, degraded or unhealthy).',
    labelNames: ['status'],
    registers: [registry],
    collect () {
      this.reset()
      const report = lastHealthReport(peers.health)
      if (report !== undefined) this.set({ status: report.status as string }, 1)
    }
  })

  gauge({
    name: 'muejam_health_check_status',
    help: 'Status of each check in the last health report: 1 for its current status.',
    labelNames: ['check', 'status'],
    registers: [registry],
    collect () {
      this.reset()
      const checks = record(lastHealthReport(peers.health)?.checks)
      for (const [check, result] of Object.entries(checks ?? {})) {
        const status = record(result)?.status
        if (typeof status === 'string') this.set({ check, status }, 1)
      }
    }
  })

  counter({
    name: 'muejam_audit_events_total',
    help: 'Audit events submitted, written or suppressed, by event.',
    labelNames: ['event'],
    registers: [registry],
    collect () {
      this.reset()
      for (const [event, value] of Object.entries(audit.events)) this.inc({ event }, value)
    }
  })
  mirroredCounter(registry, 'muejam_audit_suppressed_total', 'Audit lines not written because a client was over its audit limit.',
    () => audit.suppressed)

  if (defaultMetrics) collectDefaultMetrics({ register: registry })
  return metrics
}
