import { EventEmitter } from 'node:events'
import { BreakerOpenError } from './errors.js'
import { resolveBreakerOptions, type CircuitBreakerOptions } from './options.js'

/** `half_open`: the cool-off is over; the next call is the one probe. */
export type BreakerState = 'closed' | 'half_open' | 'open'

/** The state as a number, for a gauge: 0 closed, 1 half-open, 2 open. */
export const BREAKER_STATE_VALUES: Readonly<Record<BreakerState, 0 | 1 | 2>> = Object.freeze({ closed: 0, half_open: 1, open: 2 })

/** What a `stateChange` event carries. */
export interface StateChange {
  name: string
  from: BreakerState
  to: BreakerState
  /** Consecutive failures seen when it opened (0 for other changes). */
  failures: number
}

export interface CircuitBreakerEvents {
  stateChange: [change: StateChange]
}

/** What `permit()` returns when the call must take its fallback without touching the dependency. */
export const REJECTED = -1

/**
 * Opens after `failureThreshold` consecutive failed calls; while open every call is refused at
 * once; after `coolOffMs` the first call is let through as the one probe (half-open) while
 * others are still refused; the probe's success closes it, its failure opens it again for
 * another cool-off. The calls it guards must be bounded by a timeout of their own: a probe
 * that never reports back is replaced by a new one after `coolOffMs`.
 *
 * No timers: the state moves when a call or a reader asks. No allocation per call: `permit()`
 * returns a number to hand back to `succeeded()` or `failed()`, so an answer that comes back
 * after the state changed (a call started before the breaker opened) is ignored.
 */
export class CircuitBreaker extends EventEmitter<CircuitBreakerEvents> {
  readonly name: string
  readonly failureThreshold: number
  readonly coolOffMs: number
  readonly #now: () => number
  #state: BreakerState = 'closed'
  /** Bumped on every change of state and every probe: the permit of the calls started since. */
  #generation = 0
  #failures = 0
  #openedAt = 0
  #probeAt = 0
  #probing = false

  constructor (options?: CircuitBreakerOptions) {
    super()
    const resolved = resolveBreakerOptions(options)
    this.name = resolved.name
    this.failureThreshold = resolved.failureThreshold
    this.coolOffMs = resolved.coolOffMs
    this.#now = resolved.now
  }

  get state (): BreakerState {
    if (this.#state === 'open' && this.#now() - this.#openedAt >= this.coolOffMs) this.#change('half_open', 0)
    return this.#state
  }

  /** `state` as 0 (closed), 1 (half-open) or 2 (open). */
  get stateValue (): 0 | 1 | 2 {
    return BREAKER_STATE_VALUES[this.state]
  }

  /** Failed calls in a row since the last success. */
  get consecutiveFailures (): number {
    return this.#failures
  }

  /** Milliseconds until a call may be let through: 0 when closed or when the probe is due. */
  retryAfterMs (): number {
    const state = this.state
    if (state === 'closed') return 0
    const since = state === 'open' ? this.#openedAt : this.#probing ? this.#probeAt : Number.NEGATIVE_INFINITY
    return Math.max(0, Math.ceil(since + this.coolOffMs - this.#now()))
  }

  /**
   * Asks to call the dependency. `REJECTED` (-1): take the fallback now. Any other number: call
   * it, then hand the number to `succeeded()` or `failed()`.
   */
  permit (): number {
    if (this.#state === 'closed') return this.#generation
    const now = this.#now()
    if (this.#state === 'open') {
      if (now - this.#openedAt < this.coolOffMs) return REJECTED
      this.#change('half_open', 0)
    } else if (this.#probing && now - this.#probeAt < this.coolOffMs) {
      return REJECTED
    }
    this.#probing = true
    this.#probeAt = now
    return ++this.#generation
  }

  /** The call made under `permit` worked: resets the failure count, or closes after a probe. */
  succeeded (permit: number): void {
    if (permit !== this.#generation) return
    if (this.#state === 'closed') this.#failures = 0
    else if (this.#state === 'half_open' && this.#probing) this.#change('closed', 0)
  }

  /** The call made under `permit` failed: one more failure, or re-opens after a probe. */
  failed (permit: number): void {
    if (permit !== this.#generation) return
    if (this.#state === 'closed') {
      this.#failures++
      if (this.#failures >= this.failureThreshold) this.#change('open', this.#failures)
    } else if (this.#state === 'half_open' && this.#probing) {
      this.#failures++
      this.#change('open', this.#failures)
    }
  }

  /**
   * Runs `call` under the breaker: rejects with `BreakerOpenError` without calling it while
   * open; otherwise settles as `call` does, counting a rejection as a failure.
   */
  async run<T> (call: () => Promise<T>): Promise<T> {
    const permit = this.permit()
    if (permit === REJECTED) throw new BreakerOpenError(this.name, this.retryAfterMs())
    let result: T
    try {
      result = await call()
    } catch (error) {
      this.failed(permit)
      throw error
    }
    this.succeeded(permit)
    return result
  }

  #change (to: BreakerState, failures: number): void {
    const from = this.#state
    this.#state = to
    this.#generation++
    this.#probing = false
    if (to === 'open') this.#openedAt = this.#now()
    if (to === 'closed') this.#failures = 0
    this.emit('stateChange', { name: this.name, from, to, failures })
  }
}
