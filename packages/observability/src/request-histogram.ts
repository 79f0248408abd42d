import type { Registry } from 'prom-client'

/** Route label of requests that matched no route (404s, bad URLs): one series, not one per URL. */
export const UNMATCHED_ROUTE = 'unmatched'

/**
 * Upper bounds in seconds: fine below 100 ms where this API lives, up to the default
 * 30 s request deadline.
 */
export const DEFAULT_DURATION_BUCKETS: readonly number[] = [
  0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30
]

interface Series {
  labels: { method: string, route: string, status: string }
  /** Observations per bucket (not cumulative); the last slot is above every bound. */
  counts: Float64Array
  sum: number
  count: number
}

interface Sample {
  labels: Record<string, string | number>
  value: number
  metricName: string
}

/**
 * `<prefix>http_request_duration_seconds` by method, route pattern and status, as a
 * prom-client custom metric. prom-client's own Histogram hashes a label object and allocates
 * on every observation; here a request costs three Map lookups and a bucket scan, and the
 * Prometheus samples are built only when scraped.
 */
export class RequestDurationHistogram {
  readonly help = 'Time from routing to the end of the response, by method, route pattern and status.'
  readonly type = 'histogram'
  readonly aggregator = 'sum'
  readonly #bounds: Float64Array
  #routes = new Map<string, Map<string, Map<number, Series>>>()
  #series: Series[] = []

  constructor (registry: Registry, readonly name: string, buckets: readonly number[]) {
    this.#bounds = Float64Array.from(buckets)
    // prom-client's registry takes any object with its metric shape; its types only know its own classes.
    registry.registerMetric(this as unknown as Parameters<Registry['registerMetric']>[0])
  }

  observe (route: string, method: string, status: number, seconds: number): void {
    let byMethod = this.#routes.get(route)
    if (byMethod === undefined) {
      byMethod = new Map()
      this.#routes.set(route, byMethod)
    }
    let byStatus = byMethod.get(method)
    if (byStatus === undefined) {
      byStatus = new Map()
      byMethod.set(method, byStatus)
    }
    let series = byStatus.get(status)
    if (series === undefined) {
      series = {
        labels: { method, route, status: String(status) },
        counts: new Float64Array(this.#bounds.length + 1),
        sum: 0,
        count: 0
      }
      byStatus.set(status, series)
      this.#series.push(series)
    }
    const bounds = this.#bounds
    let bucket = 0
    while (bucket < bounds.length && seconds > (bounds[bucket] as number)) bucket++
    series.counts[bucket] = (series.counts[bucket] as number) + 1
    series.sum += seconds
    series.count++
  }

  /** prom-client's metric interface: the samples of every series. */
  async get () {
    const bucketName = `${this.name}_bucket`
    const values: Sample[] = []
    for (const { labels, counts, sum, count } of this.#series) {
      let cumulative = 0
      for (let i = 0; i < this.#bounds.length; i++) {
        cumulative += counts[i] as number
        values.push({ labels: { ...labels, le: this.#bounds[i] as number }, value: cumulative, metricName: bucketName })
      }
      values.push({ labels: { ...labels, le: '+Inf' }, value: count, metricName: bucketName })
      values.push({ labels, value: sum, metricName: `${this.name}_sum` })
      values.push({ labels, value: count, metricName: `${this.name}_count` })
    }
    return { name: this.name, help: this.help, type: this.type, aggregator: this.aggregator, values }
  }

  reset (): void {
    this.#routes = new Map()
    this.#series = []
  }
}
