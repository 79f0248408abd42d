import type { FastifyInstance } from 'fastify'
// Types only: both are optional peers, met at run time through their decorators.
import type { CheckDetails } from '@muejam/health'
import type { MetricSample } from '@muejam/observability'
import type { PoolStats } from './connection.js'

export interface ContractSources {
  /** The `database` check, or `null` when the host turned it off (`healthCheck: false`). */
  healthCheck: ((signal: AbortSignal) => Promise<CheckDetails | undefined>) | null
  stats: () => PoolStats[]
}

function perPool (stats: () => PoolStats[], field: 'total' | 'idle' | 'waiting') {
  return (): MetricSample[] => stats().map((row) => ({ labels: { pool: row.pool }, value: row[field] }))
}

/**
 * Registers what the plugin owns with the host's registries once every plugin has
 * registered (onReady), so the order in which the host registered them does not matter:
 * the critical `database` check on `app.health`, and the pool gauges on `app.metrics`.
 */
export function registerContracts (app: FastifyInstance, { healthCheck, stats }: ContractSources): void {
  app.addHook('onReady', async function dbPoolContracts () {
    if (healthCheck !== null && app.hasDecorator('health')) {
      app.health.addCheck('database', healthCheck, { critical: true })
    }
    if (app.hasDecorator('metrics')) {
      app.metrics.gauge({ name: 'db_pool_connections', help: 'Open connections, by pool.', labelNames: ['pool'], collect: perPool(stats, 'total') })
      app.metrics.gauge({ name: 'db_pool_idle_connections', help: 'Idle connections, by pool.', labelNames: ['pool'], collect: perPool(stats, 'idle') })
      app.metrics.gauge({ name: 'db_pool_waiting_requests', help: 'Queries waiting for a connection, by pool.', labelNames: ['pool'], collect: perPool(stats, 'waiting') })
    }
  })
}
