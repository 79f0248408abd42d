import { collectDefaultMetrics, type Registry } from 'prom-client'

/**
 * prom-client's default gauges whose names end in `_total`, a suffix Prometheus keeps for
 * counters (`promtool check metrics` flags them). Each is the sum of a gauge prom-client also
 * exports by `type` (`nodejs_active_handles{type}`, …), so nothing is lost without them.
 */
export const GAUGES_NAMED_TOTAL = [
  'nodejs_active_handles_total',
  'nodejs_active_requests_total',
  'nodejs_active_resources_total'
] as const

/** prom-client's process and runtime metrics on `registry`, minus the gauges named `_total`. */
export function registerDefaultMetrics (registry: Registry): void {
  collectDefaultMetrics({ register: registry })
  for (const name of GAUGES_NAMED_TOTAL) registry.removeSingleMetric(name)
}
