import type { FastifyInstance } from 'fastify'
// Types only: both are optional peers, met at run time through their decorators.
import type {} from '@muejam/health'
import type {} from '@muejam/observability'
import type { RateLimitStats } from './limiter.js'
import type { WindowStore } from './store.js'

/**
 * Registers what the plugin owns with the host's registries, once every plugin has
 * registered (onReady), so the order in which the host registered them does not matter:
 * the Redis health check `cache` (non-critical: without it requests follow `onStoreError`)
 * on `app.health`, and the refusal and store-error counters on `app.metrics`.
 */
export function registerContracts (app: FastifyInstance, store: WindowStore, stats: RateLimitStats): void {
  app.addHook('onReady', async function rateLimitContracts () {
    if (store.kind === 'redis' && app.hasDecorator('health')) {
      app.health.addCheck('cache', () => store.check(), { critical: false })
    }
    if (app.hasDecorator('metrics')) {
      app.metrics.counter({
        name: 'rate_limit_refused_total',
        help: 'Requests refused with 429 by the rate limit.',
        collect: () => stats.refused
      })
      app.metrics.counter({
        name: 'rate_limit_store_errors_total',
        help: 'Rate-limit store (Redis) calls that failed or timed out.',
        collect: () => stats.storeErrors
      })
    }
  })
}
