import type { FastifyInstance } from 'fastify'
// Types only: both are optional peers, met at run time through their decorators.
import type { CheckDetails } from '@muejam/health'
import type { MetricSample } from '@muejam/observability'
import type { PoolStats } from './connection.js'

export interface ContractSources {
  /** The `database` check, or `null` when the host turned it off (`healthCheck: false`). */
  healthCheck: ((signal: AbortSignal) => Promise<CheckDetails | undefined>) | null
  stats: () => PoolStats[]
  /** Each server pool's breaker state as 0 closed, 1 half-open, 2 open (none when embedded). */
  breakers: () => Array<{ pool: string, value: number }>
}

function perPool (stats: () => PoolStats[], field: 'total' | 'idle' | 'waiting') {
  return (): MetricSample[] => stats().map((row) => ({ labels: { pool: row.pool }, value: row[field] }))
}

/**
 * Registers what the plugin owns with the host's registries once every plugin has
 * registered (onReady), so the order in which the host registered them does not matter:
 * the critical `database` check on `app.health`, and the pool and breaker gauges on `app.metrics`.
 */
export function registerContracts (app: FastifyInstance, { healthCheck, stats, breakers }: ContractSources): void {
  app.addHook('onReady', async function dbPoolContracts () {
    if (healthCheck !== null && app.hasDecorator('health')) {
      app.health.addCheck('database', healthCheck, { critical: true })
    }
    if (app.hasDecorator('metrics')) {
      app.metrics.gauge({ name: 'db_pool_connections', help: 'Open connections, by pool.', labelNames: ['pool'], collect: perPool(stats, 'total') })
      app.metrics.gauge({ name: 'db_pool_idle_connections', help: 'Idle connections, by pool.', labelNames: ['pool'], collect: perPool(stats, 'idle') })
      app.metrics.gauge({ name: 'db_pool_waiting_requests', help: 'Queries waiting for a connection, by pool.', labelNames: ['pool'], collect: perPool(stats, 'waiting') })
      app.metrics.gauge({
        name: 'db_pool_breaker_state',
        help: 'State of the pool\'s circuit breaker on getting a connection: 0 closed, 1 half-open, 2 open.',
        labelNames: ['pool'],
        collect: () => breakers().map(({ pool, value }) => ({ labels: { pool }, value }))
      })
    }
  })
}
