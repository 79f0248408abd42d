import { createOptionError } from '@muejam/problem'

/** An option of `new CircuitBreaker()` is of the wrong type or out of range. */
export const InvalidOptionError = createOptionError('@muejam/circuit-breaker')

/**
 * `run()` did not call the dependency: the breaker is open, or half-open with its one probe
 * already out. `retryAfterMs` says when a call may be let through again.
 */
export class BreakerOpenError extends Error {
  readonly code = 'MUEJAM_CIRCUIT_BREAKER_OPEN'
  readonly retryAfterMs: number

  constructor (name: string, retryAfterMs: number) {
    super(`circuit breaker ${name} is open; the next call is let through in ${retryAfterMs} ms`)
    this.name = 'BreakerOpenError'
    this.retryAfterMs = retryAfterMs
  }
}
