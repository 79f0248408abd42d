import type { FastifyRequest } from 'fastify'
import { createOptionValidators } from '@muejam/problem'
import { InvalidOptionError } from './errors.js'
import { isValidPrefix } from './metrics-registry.js'
import { SecretRedactor } from './redact.js'
import { DEFAULT_DURATION_BUCKETS } from './request-histogram.js'

export interface ObservabilityOptions {
  /**
   * Put before the name of every metric registered through `app.metrics`, this plugin's own
   * included (e.g. `myapp_` gives `myapp_http_request_duration_seconds`). Default: `''`.
   */
  prefix?: string
  /** Path of the Prometheus endpoint. Default: `/metrics`. */
  metricsPath?: string
  /**
   * Bearer token a scrape must send (`Authorization: Bearer <token>`), or a function returning
   * it, called at each scrape so a rotated token applies without a restart. Default: none, the
   * endpoint is open (an empty string counts as none).
   */
  metricsToken?: string | null | (() => string | null | undefined)
  /**
   * Route config merged into the metrics route, for the host's other plugins (e.g.
   * `{ auth: false, rateLimit: false }`). Default: `{}`.
   */
  metricsRouteConfig?: Record<string, unknown>
  /** Also export prom-client's process and runtime metrics (CPU, memory, event loop, GC). Default: `true`. */
  defaultMetrics?: boolean
  /** Upper bounds of the request duration histogram, in seconds, increasing. Default: 1 ms … 30 s (14 buckets). */
  durationBuckets?: readonly number[]
  /** Lines `auditLimited` writes per key per interval. Default: `5`. */
  auditMaxPerKey?: number
  /** Length of the `auditLimited` window, in ms. Default: `60000`. */
  auditIntervalMs?: number
  /** Keys `auditLimited` tracks at once before new keys share one window. Default: `10000`. */
  auditMaxKeys?: number
  /**
   * Sentry DSN; when set (non-empty), 5xx errors are reported. Needs the optional peer
   * `@sentry/node`. Default: none.
   */
  sentryDsn?: string | null
  /** Sentry `environment`. Default: none (Sentry's `production`). */
  sentryEnvironment?: string
  /** Sentry `release`. Default: none. */
  sentryRelease?: string
  /** Longest wait for pending reports on close or crash, in ms. Default: `2000`. */
  sentryFlushTimeoutMs?: number
  /**
   * Called, synchronously, for each error report of a request: its entries become tags of the
   * event (e.g. the request's `trace_id` and `span_id`, to find its trace). The report's own
   * tags (`request_id`, `route`, `method`, `status`) win over them. Default: none.
   */
  sentryTags?: (request: FastifyRequest) => Readonly<Record<string, string>> | null | undefined
  /**
   * Secret values scrubbed from error reports (pass the same `SecretRedactor` as to
   * `loggerOptions` to follow rotations). Default: none; JWTs and bearer credentials are
   * scrubbed regardless.
   */
  secrets?: Iterable<string> | SecretRedactor
}

export interface Settings {
  prefix: string
  metricsPath: string
  metricsToken: () => string | null | undefined
  metricsRouteConfig: Record<string, unknown>
  defaultMetrics: boolean
  durationBuckets: readonly number[]
  auditMaxPerKey: number
  auditIntervalMs: number
  auditMaxKeys: number
  sentryDsn: string | null
  sentryEnvironment: string | undefined
  sentryRelease: string | undefined
  sentryFlushTimeoutMs: number
  sentryTags: ((request: FastifyRequest) => Readonly<Record<string, string>> | null | undefined) | undefined
  redactor: SecretRedactor
}

const option = createOptionValidators(InvalidOptionError)

function buckets (value: unknown): readonly number[] {
  if (value === undefined) return DEFAULT_DURATION_BUCKETS
  const valid = Array.isArray(value) && value.length > 0 && value.every((bound, i) =>
    typeof bound === 'number' && Number.isFinite(bound) && bound > 0 && (i === 0 || bound > (value[i - 1] as number)))
  if (!valid) throw new InvalidOptionError('durationBuckets', 'must be a non-empty list of increasing positive numbers of seconds')
  return [...value]
}

// Sentry's own DSN grammar (@sentry/core): a DSN it would refuse must fail at registration,
// not turn into a reporter that silently sends nothing.
const SENTRY_DSN = /^https?:\/\/\w+(?::\w*)?@(?:\[[:.%\w]+\]|[\w.-]+)(?::\d+)?\/(?:.+\/)?\d+\/?$/

function sentryDsn (value: unknown): string | null {
  if (value === undefined || value === null || value === '') return null
  // The DSN holds a key: the message describes the expected form, never the value.
  if (typeof value !== 'string' || !SENTRY_DSN.test(value)) {
    throw new InvalidOptionError('sentryDsn', 'must be a Sentry DSN such as https://<key>@<host>/<project id>')
  }
  return value
}

function secrets (value: unknown): SecretRedactor {
  if (value === undefined) return new SecretRedactor()
  if (value instanceof SecretRedactor) return value
  if (typeof value === 'string' || value === null || typeof (value as Iterable<unknown>)[Symbol.iterator] !== 'function') {
    throw new InvalidOptionError('secrets', 'must be a list of strings or a SecretRedactor')
  }
  const list = [...value as Iterable<unknown>]
  if (!list.every((item) => typeof item === 'string')) {
    throw new InvalidOptionError('secrets', 'must be a list of strings or a SecretRedactor')
  }
  return new SecretRedactor(list as string[])
}

/** Validates the options once, at registration, and fills in the defaults. */
export function resolveOptions (options: ObservabilityOptions): Settings {
  const metricsPath = options.metricsPath ?? '/metrics'
  if (typeof metricsPath !== 'string' || !metricsPath.startsWith('/')) {
    throw new InvalidOptionError('metricsPath', 'must be a path starting with "/"')
  }
  const metricsToken = options.metricsToken ?? null
  if (metricsToken !== null && typeof metricsToken !== 'string' && typeof metricsToken !== 'function') {
    throw new InvalidOptionError('metricsToken', 'must be a string or a function returning one')
  }

  const prefix = options.prefix ?? ''
  if (!isValidPrefix(prefix)) {
    throw new InvalidOptionError('prefix', 'must be empty or start a Prometheus metric name ([a-zA-Z_][a-zA-Z0-9_]*)')
  }

  return {
    prefix,
    metricsPath,
    metricsToken: typeof metricsToken === 'function' ? metricsToken : () => metricsToken,
    metricsRouteConfig: option.object('metricsRouteConfig', options.metricsRouteConfig, { default: {} }),
    defaultMetrics: option.boolean('defaultMetrics', options.defaultMetrics, { default: true }),
    durationBuckets: buckets(options.durationBuckets),
    auditMaxPerKey: option.integer('auditMaxPerKey', options.auditMaxPerKey, { min: 1, default: 5 }),
    auditIntervalMs: option.milliseconds('auditIntervalMs', options.auditIntervalMs, { min: 1, default: 60_000 }),
    auditMaxKeys: option.integer('auditMaxKeys', options.auditMaxKeys, { min: 1, default: 10_000 }),
    sentryDsn: sentryDsn(options.sentryDsn),
    sentryEnvironment: option.string('sentryEnvironment', options.sentryEnvironment, { emptyIsUnset: true }),
    sentryRelease: option.string('sentryRelease', options.sentryRelease, { emptyIsUnset: true }),
    sentryFlushTimeoutMs: option.milliseconds('sentryFlushTimeoutMs', options.sentryFlushTimeoutMs, { min: 1, default: 2000 }),
    sentryTags: option.func('sentryTags', options.sentryTags),
    redactor: secrets(options.secrets)
  }
}
