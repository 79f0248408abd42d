import type { FastifyBaseLogger } from 'fastify'
import type { Registry } from 'prom-client'
import { DuplicateMetricError, InvalidMetricError } from './errors.js'

/** One sample of a metric: its label values and its value. */
export interface MetricSample {
  labels?: Record<string, string>
  value: number
}

/** A metric whose value its owner keeps, read when `/metrics` is scraped. */
export interface MetricSpec {
  /** Name without the registry's prefix, e.g. `auth_failures_total`. */
  name: string
  help: string
  /** Names of the labels its samples carry. Default: none. */
  labelNames?: readonly string[]
  /** Called at each scrape: one value (no labels) or one sample per label set. */
  collect: () => number | readonly MetricSample[]
}

/** The `app.metrics` decorator: where plugins register the metrics they own. */
export interface MetricsRegistry {
  /** Put before every name registered here (option `prefix`, default `''`). */
  readonly prefix: string
  /** A cumulative count the caller owns (never decreases while the process lives). */
  counter(spec: MetricSpec): void
  /** A value that goes up and down. */
  gauge(spec: MetricSpec): void
  /** The prom-client registry behind `/metrics`, for the host's own prom-client metrics (not prefixed). */
  readonly registry: Registry
}

// Prometheus' name rules, without the colon: colons are reserved for recording rules.
const METRIC_NAME = /^[a-zA-Z_][a-zA-Z0-9_]*$/
const LABEL_NAME = /^[a-zA-Z_][a-zA-Z0-9_]*$/
// Exposition gives these a meaning of their own (histogram buckets, summary quantiles).
const RESERVED_LABELS = new Set(['le', 'quantile'])

type MetricType = 'counter' | 'gauge'

interface PromSample {
  labels: Record<string, string>
  value: number
}

/** Whether `prefix` may start a metric name: empty, or the start of a valid name. */
export function isValidPrefix (prefix: unknown): prefix is string {
  return prefix === '' || (typeof prefix === 'string' && METRIC_NAME.test(prefix))
}

function validLabelNames (name: string, labelNames: unknown): readonly string[] {
  if (labelNames === undefined) return []
  if (!Array.isArray(labelNames)) throw new InvalidMetricError(name, 'labelNames must be a list of label names')
  for (const label of labelNames) {
    if (typeof label !== 'string' || !LABEL_NAME.test(label) || label.startsWith('__') || RESERVED_LABELS.has(label)) {
      throw new InvalidMetricError(name, `label ${JSON.stringify(label)} must match [a-zA-Z_][a-zA-Z0-9_]*, not start with __, and not be le or quantile`)
    }
  }
  if (new Set(labelNames).size !== labelNames.length) throw new InvalidMetricError(name, 'labelNames must not repeat a label')
  return [...labelNames] as string[]
}

/**
 * A metric whose samples come from its owner's `collect` at each scrape. It registers on
 * prom-client's registry as a custom metric (as the request histogram does), so a collect that
 * throws or returns nonsense exports no sample at all rather than a made-up zero.
 */
class CollectedMetric {
  readonly aggregator = 'sum'
  readonly #labelNames: ReadonlySet<string>
  readonly #collect: MetricSpec['collect']
  readonly #log: FastifyBaseLogger

  constructor (readonly name: string, readonly help: string, readonly type: MetricType,
    labelNames: readonly string[], collect: MetricSpec['collect'], log: FastifyBaseLogger) {
    this.#labelNames = new Set(labelNames)
    this.#collect = collect
    this.#log = log
  }

  get () {
    let values: PromSample[] = []
    try {
      values = this.#samples(this.#collect())
    } catch (error) {
      this.#log.warn({ err: error, metric: this.name }, 'metric collect failed; no samples exported')
    }
    return { name: this.name, help: this.help, type: this.type, aggregator: this.aggregator, values }
  }

  /** The owner keeps the value: prom-client's `resetMetrics()` has nothing to reset here. */
  reset (): void {}

  #samples (collected: unknown): PromSample[] {
    if (typeof collected === 'number') return [{ labels: {}, value: this.#value(collected) }]
    if (!Array.isArray(collected)) throw new TypeError('collect must return a number or a list of samples')
    return collected.map((sample: unknown) => {
      if (typeof sample !== 'object' || sample === null) throw new TypeError('a sample must be an object')
      const { labels = {}, value } = sample as MetricSample
      if (typeof labels !== 'object' || labels === null) throw new TypeError('sample labels must be an object')
      for (const [label, labelValue] of Object.entries(labels)) {
        if (!this.#labelNames.has(label)) throw new TypeError(`label ${label} is not among labelNames`)
        if (typeof labelValue !== 'string') throw new TypeError(`label ${label} must be a string`)
      }
      return { labels: { ...labels }, value: this.#value(value) }
    })
  }

  #value (value: unknown): number {
    if (typeof value !== 'number' || !Number.isFinite(value)) throw new TypeError('a metric value must be a finite number')
    if (this.type === 'counter' && value < 0) throw new TypeError('a counter value must not be negative')
    return value
  }
}

/** `app.metrics`: validates each spec once, prefixes its name and registers it. */
export class PrefixedMetricsRegistry implements MetricsRegistry {
  readonly prefix: string
  readonly registry: Registry
  readonly #log: FastifyBaseLogger

  constructor (registry: Registry, prefix: string, log: FastifyBaseLogger) {
    this.registry = registry
    this.prefix = prefix
    this.#log = log
  }

  counter (spec: MetricSpec): void {
    this.#register('counter', spec)
  }

  gauge (spec: MetricSpec): void {
    this.#register('gauge', spec)
  }

  #register (type: MetricType, spec: MetricSpec): void {
    if (typeof spec !== 'object' || spec === null) throw new InvalidMetricError('(none)', 'the spec must be an object')
    const { name, help, labelNames, collect } = spec
    if (typeof name !== 'string' || !METRIC_NAME.test(name)) {
      throw new InvalidMetricError(String(name), 'the name must match [a-zA-Z_][a-zA-Z0-9_]* (no prefix, no colon)')
    }
    if (typeof help !== 'string' || help.trim() === '') throw new InvalidMetricError(name, 'help must be a non-empty string')
    const labels = validLabelNames(name, labelNames)
    if (typeof collect !== 'function') throw new InvalidMetricError(name, 'collect must be a function')
    const fullName = `${this.prefix}${name}`
    if (this.registry.getSingleMetric(fullName) !== undefined) throw new DuplicateMetricError(fullName)
    const metric = new CollectedMetric(fullName, help, type, labels, collect, this.#log)
    // prom-client's registry takes any object with its metric shape; its types only know its own classes.
    this.registry.registerMetric(metric as unknown as Parameters<Registry['registerMetric']>[0])
  }
}
