import type { FastifyInstance } from 'fastify'
// Types only: an optional peer, met at run time through its `app.metrics` decorator.
import type {} from '@muejam/observability'
import type { Health, HealthReport } from './registry.js'

function statusSamples (report: HealthReport | null) {
  return report === null ? [] : [{ labels: { status: report.status }, value: 1 }]
}

function checkSamples (report: HealthReport | null) {
  if (report === null) return []
  return Object.entries(report.checks).map(([check, result]) => ({ labels: { check, status: result.status }, value: 1 }))
}

/**
 * Exports the last report on `app.metrics` when `@muejam/observability` is registered, in
 * whichever order the host registered the two: as state sets, 1 for the current status only,
 * so an alert is `health_check_status{status!="healthy"} == 1`. Nothing before the first run.
 */
export function registerStatusMetrics (app: FastifyInstance, health: Health): void {
  app.addHook('onReady', async function healthStatusMetrics () {
    if (!app.hasDecorator('metrics')) return
    app.metrics.gauge({
      name: 'health_status',
      help: 'Overall health of the last health report: 1 for its status (healthy, degraded or unhealthy).',
      labelNames: ['status'],
      collect: () => statusSamples(health.lastReport)
    })
    app.metrics.gauge({
      name: 'health_check_status',
      help: 'Status of each check in the last health report: 1 for its current status.',
      labelNames: ['check', 'status'],
      collect: () => checkSamples(health.lastReport)
    })
  })
}
