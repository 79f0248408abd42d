import type { CircuitBreaker } from '@muejam/circuit-breaker'
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
 * on `app.health`, the refusal and store-error counters and the breaker's state gauge on
 * `app.metrics`.
 */
export function registerContracts (app: FastifyInstance, store: WindowStore, stats: RateLimitStats, breaker: CircuitBreaker | null): void {
  app.addHook('onReady', async function rateLimitContracts () {
    if (breaker !== null && app.hasDecorator('health')) {
      // Answers rather than throws when Redis fails, so the report still shows the breaker.
      app.health.addCheck('cache', async () => {
        try {
          await store.check()
        } catch {
          return { status: 'unhealthy', breaker: breaker.state }
        }
        return { breaker: breaker.state }
      }, { critical: false })
    }
    if (app.hasDecorator('metrics')) {
      app.metrics.counter({
        name: 'rate_limit_refused_total',
        help: 'Requests refused with 429 by the rate limit.',
        collect: () => stats.refused
      })
      app.metrics.counter({
        name: 'rate_limit_store_errors_total',
        help: 'Rate-limit store (Redis) calls that failed, timed out or were skipped by the open circuit breaker.',
        collect: () => stats.storeErrors
      })
      if (breaker !== null) {
        app.metrics.gauge({
          name: 'rate_limit_breaker_state',
          help: 'State of the rate-limit Redis circuit breaker: 0 closed, 1 half-open, 2 open.',
          collect: () => breaker.stateValue
        })
      }
    }
  })
}
