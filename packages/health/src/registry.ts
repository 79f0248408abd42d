import { performance } from 'node:perf_hooks'
import type { FastifyBaseLogger } from 'fastify'
import { DuplicateCheckError, InvalidCheckError } from './errors.js'

/** The state of one check and of the whole service. */
export type HealthStatus = 'healthy' | 'degraded' | 'unhealthy'

/**
 * What a check may return: details shown in the report (e.g. `{ percent_used: 42 }`) and,
 * optionally, its own `status` when it is working but not well (`degraded`).
 */
export interface CheckDetails {
  status?: HealthStatus
  [detail: string]: unknown
}

/**
 * A health check. It passes by returning (details or nothing) and fails by throwing or by
 * outliving its timeout, when `signal` is aborted so it can stop what it started.
 */
export type HealthCheck = (signal: AbortSignal) => Promise<CheckDetails | undefined | void> | CheckDetails | undefined | void

export interface AddCheckOptions {
  /** A failing critical check makes the service unhealthy (503); any other only degrades it. Default `true`. */
  critical?: boolean
  /** Longest run of the check, in milliseconds, before it counts as failed. Default: the plugin's `checkTimeoutMs` (1000). */
  timeoutMs?: number
}

/** One check in the report. `error` is a fixed, generic text: never the thrown error's message. */
export interface CheckResult {
  status: HealthStatus
  latency_ms: number
  error?: string
  [detail: string]: unknown
}

/** The body of `GET /health` and `GET /health/ready`. */
export interface HealthReport {
  status: HealthStatus
  /** Present, as `draining`, while the service is shutting down. */
  reason?: 'draining'
  /** When the checks finished, ISO 8601. */
  timestamp: string
  uptime_s: number
  version: string
  checks: Record<string, CheckResult>
}

/** The `app.health` decorator. */
export interface Health {
  /** Registers a check; names are snake_case and unique. */
  addCheck(name: string, check: HealthCheck, options?: AddCheckOptions): void
  /** Runs every check, or returns the result of a run that is in flight or less than `cacheMs` old. */
  report(): Promise<HealthReport>
  /** Makes readiness and `/health` answer 503 from now on (graceful shutdown); liveness stays 200. */
  startDraining(): void
  readonly draining: boolean
  /** The last report computed by a run of the checks, or `null` before the first run. */
  readonly lastReport: HealthReport | null
  /** Names of the registered checks, in registration order. */
  readonly checkNames: readonly string[]
}

interface CheckEntry {
  name: string
  check: HealthCheck
  critical: boolean
  timeoutMs: number
  /** Status of the previous run, so failures are logged when they start, not on every probe. */
  previous: HealthStatus
}

export interface RegistryOptions {
  cacheMs: number
  checkTimeoutMs: number
  version: string
  log: FastifyBaseLogger
}

const CHECK_NAME = /^[a-z][a-z0-9_]{0,63}$/
const STATUSES = new Set<unknown>(['healthy', 'degraded', 'unhealthy'])
const MAX_TIMEOUT_MS = 60_000

/** A check's timeout; the reason its signal is aborted with. */
class CheckTimeout extends Error {
  constructor (timeoutMs: number) {
    super(`health check timed out after ${timeoutMs} ms`)
    this.name = 'CheckTimeout'
  }
}

const round1 = (value: number) => Math.round(value * 10) / 10

export class HealthRegistry implements Health {
  readonly #checks = new Map<string, CheckEntry>()
  readonly #options: RegistryOptions
  #inflight: Promise<HealthReport> | null = null
  #completedAt = Number.NEGATIVE_INFINITY
  #lastReport: HealthReport | null = null
  #draining = false

  constructor (options: RegistryOptions) {
    this.#options = options
  }

  get draining (): boolean {
    return this.#draining
  }

  get lastReport (): HealthReport | null {
    return this.#lastReport
  }

  get checkNames (): readonly string[] {
    return [...this.#checks.keys()]
  }

  addCheck (name: string, check: HealthCheck, options: AddCheckOptions = {}): void {
    if (typeof name !== 'string' || !CHECK_NAME.test(name)) {
      throw new InvalidCheckError(String(name), 'the name must be snake_case (a-z, 0-9, _), at most 64 characters')
    }
    if (this.#checks.has(name)) throw new DuplicateCheckError(name)
    if (typeof check !== 'function') throw new InvalidCheckError(name, 'the check must be a function')
    const { critical = true, timeoutMs = this.#options.checkTimeoutMs } = options
    if (typeof critical !== 'boolean') throw new InvalidCheckError(name, 'critical must be a boolean')
    if (!Number.isInteger(timeoutMs) || timeoutMs < 1 || timeoutMs > MAX_TIMEOUT_MS) {
      throw new InvalidCheckError(name, `timeoutMs must be an integer from 1 to ${MAX_TIMEOUT_MS}`)
    }
    this.#checks.set(name, { name, check, critical, timeoutMs, previous: 'healthy' })
    // A cached report would not show the new check.
    this.#completedAt = Number.NEGATIVE_INFINITY
  }

  report (): Promise<HealthReport> {
    if (this.#inflight !== null) return this.#inflight
    if (this.#lastReport !== null && performance.now() - this.#completedAt < this.#options.cacheMs) {
      return Promise.resolve(this.#lastReport)
    }
    const run = this.#run()
    this.#inflight = run
    return run
  }

  startDraining (): void {
    this.#draining = true
  }

  /** The body readiness answers while draining: says why, runs nothing. */
  drainingReport (): HealthReport {
    return {
      status: 'unhealthy',
      reason: 'draining',
      timestamp: new Date().toISOString(),
      uptime_s: Math.floor(process.uptime()),
      version: this.#options.version,
      checks: {}
    }
  }

  async #run (): Promise<HealthReport> {
    const entries = [...this.#checks.values()]
    try {
      const results = await Promise.all(entries.map((entry) => this.#runCheck(entry)))
      let status: HealthStatus = 'healthy'
      const checks: Record<string, CheckResult> = {}
      entries.forEach((entry, index) => {
        const result = results[index] as CheckResult
        checks[entry.name] = result
        if (result.status === 'unhealthy' && entry.critical) status = 'unhealthy'
        else if (result.status !== 'healthy' && status === 'healthy') status = 'degraded'
      })
      const report: HealthReport = {
        status,
        timestamp: new Date().toISOString(),
        uptime_s: Math.floor(process.uptime()),
        version: this.#options.version,
        checks
      }
      this.#lastReport = report
      this.#completedAt = performance.now()
      return report
    } finally {
      this.#inflight = null
    }
  }

  async #runCheck (entry: CheckEntry): Promise<CheckResult> {
    const controller = new AbortController()
    const started = performance.now()
    let timer: NodeJS.Timeout | undefined
    const deadline = new Promise<never>((_resolve, reject) => {
      timer = setTimeout(() => {
        const reason = new CheckTimeout(entry.timeoutMs)
        controller.abort(reason)
        reject(reason)
      }, entry.timeoutMs)
    })
    let result: CheckResult
    let failure: unknown
    try {
      const details = await Promise.race([
        Promise.resolve().then(() => entry.check(controller.signal)),
        deadline
      ])
      result = toResult(details, started)
    } catch (error) {
      failure = error
      result = {
        status: 'unhealthy',
        latency_ms: round1(performance.now() - started),
        error: error instanceof CheckTimeout ? `timed out after ${entry.timeoutMs} ms` : 'check failed'
      }
    } finally {
      clearTimeout(timer)
    }
    this.#logTransition(entry, result, failure)
    return result
  }

  #logTransition (entry: CheckEntry, result: CheckResult, failure: unknown) {
    if (result.status === entry.previous) return
    const context = { check: entry.name, status: result.status, previous: entry.previous, critical: entry.critical }
    entry.previous = result.status
    if (result.status === 'healthy') {
      this.#options.log.info(context, 'health check recovered')
    } else {
      // The full error goes to the log only; the report shows a generic text.
      this.#options.log.warn({ ...context, err: failure }, `health check ${result.status}`)
    }
  }
}

function toResult (details: unknown, started: number): CheckResult {
  const latency = round1(performance.now() - started)
  if (details === undefined || details === null) return { status: 'healthy', latency_ms: latency }
  if (typeof details !== 'object' || Array.isArray(details)) {
    return { status: 'unhealthy', latency_ms: latency, error: 'check returned an invalid result' }
  }
  const { status = 'healthy', latency_ms: _ignored, error: _reserved, ...rest } = details as CheckDetails
  if (!STATUSES.has(status)) {
    return { status: 'unhealthy', latency_ms: latency, error: 'check returned an invalid status' }
  }
  return { status, latency_ms: latency, ...rest }
}
