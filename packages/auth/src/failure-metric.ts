import type { MetricSample } from '@muejam/observability'
import type { FastifyInstance } from 'fastify'
import { FAILURE_REASONS, type FailureReason } from './errors.js'

/** The counter's name, before the host's metric prefix (a host prefix `muejam_` makes it `muejam_auth_failures_total`). */
export const FAILURE_METRIC_NAME = 'auth_failures_total'

/**
 * Adds `auth_failures_total{reason}` to `app.metrics` when `@muejam/observability` is registered,
 * before or after this plugin. Every reason is reported from the start, at 0, so a rate query
 * sees a series before its first failure.
 */
export function addFailureMetric (app: FastifyInstance, failures: Readonly<Record<FailureReason, number>>): void {
  app.addHook('onReady', async () => {
    if (!app.hasDecorator('metrics')) return
    app.metrics.counter({
      name: FAILURE_METRIC_NAME,
      help: 'Refused credentials, by reason (token_expired, token_invalid_signature, ...).',
      labelNames: ['reason'],
      collect: (): MetricSample[] => FAILURE_REASONS.map((reason) => ({ labels: { reason }, value: failures[reason] }))
    })
  })
}
