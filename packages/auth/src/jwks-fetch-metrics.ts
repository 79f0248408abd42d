import { BREAKER_STATE_VALUES, type BreakerState } from '@muejam/circuit-breaker'
import type { FastifyInstance } from 'fastify'
import type { KeySource } from './key-store.js'

/** The counters' names, before the host's metric prefix (`muejam_` makes them `muejam_auth_jwks_fetches_total`, …). */
export const JWKS_FETCHES_METRIC_NAME = 'auth_jwks_fetches_total'
export const JWKS_FETCH_FAILURES_METRIC_NAME = 'auth_jwks_fetch_failures_total'
export const JWKS_BREAKER_STATE_METRIC_NAME = 'auth_jwks_breaker_state'

/**
 * Adds `auth_jwks_fetches_total`, `auth_jwks_fetch_failures_total` and the gauge
 * `auth_jwks_breaker_state` to `app.metrics` when
 * `@muejam/observability` is registered, before or after this plugin, and keys come from a JWKS
 * (a configured public key is never fetched, so it has nothing to count).
 */
export function addJwksFetchMetrics (app: FastifyInstance, keys: KeySource): void {
  if (keys.state.source !== 'jwks') return
  app.addHook('onReady', async () => {
    if (!app.hasDecorator('metrics')) return
    app.metrics.counter({
      name: JWKS_FETCHES_METRIC_NAME,
      help: 'JWKS fetches started (first fetch, unknown kids, refreshes), failed ones included.',
      collect: () => keys.state.fetches
    })
    app.metrics.counter({
      name: JWKS_FETCH_FAILURES_METRIC_NAME,
      help: 'JWKS fetches that failed (no answer, an error status, not a key set); cached keys keep verifying meanwhile.',
      collect: () => keys.state.fetchFailures
    })
    app.metrics.gauge({
      name: JWKS_BREAKER_STATE_METRIC_NAME,
      help: 'State of the JWKS circuit breaker: 0 closed, 1 half-open, 2 open (no fetch; cached keys keep verifying).',
      // A JWKS source always has a breaker.
      collect: () => BREAKER_STATE_VALUES[keys.state.breaker as BreakerState]
    })
  })
}
