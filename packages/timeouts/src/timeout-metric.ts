import type { FastifyInstance } from 'fastify'
// Types only: an optional peer, met at run time through its `app.metrics` decorator.
import type {} from '@muejam/observability'

/**
 * Adds `request_timeouts_total` to `app.metrics` when `@muejam/observability` is registered,
 * once every plugin has registered (onReady), so the registration order does not matter.
 */
export function registerTimeoutMetric (app: FastifyInstance, stats: { readonly timedOut: number }): void {
  app.addHook('onReady', async function timeoutsMetric () {
    if (!app.hasDecorator('metrics')) return
    app.metrics.counter({
      name: 'request_timeouts_total',
      help: 'Requests answered 504 because they passed their deadline.',
      collect: () => stats.timedOut
    })
  })
}
