import { createOptionValidators } from '@muejam/problem'
import { InvalidOptionError } from './errors.js'

export interface CircuitBreakerOptions {
  /** Shown in events and errors, e.g. `redis` or `primary`. Default: `breaker`. */
  name?: string
  /** Consecutive failed calls that open the breaker, 1–1000. Default: 5. */
  failureThreshold?: number
  /** How long the breaker stays open before it lets one probe call through, in ms. Default: 5000. */
  coolOffMs?: number
  /** The clock, in ms (monotonic is best). Default: `performance.now`. Tests pass a fake one. */
  now?: () => number
}

export interface ResolvedBreakerOptions {
  name: string
  failureThreshold: number
  coolOffMs: number
  now: () => number
}

export const DEFAULT_FAILURE_THRESHOLD = 5
export const DEFAULT_COOL_OFF_MS = 5000
export const MAX_FAILURE_THRESHOLD = 1000

const option = createOptionValidators(InvalidOptionError)

const monotonic = () => performance.now()

export function resolveBreakerOptions (given: CircuitBreakerOptions | undefined): ResolvedBreakerOptions {
  const options = option.object('options', given, { default: {} })
  return {
    name: option.string('name', options.name, { default: 'breaker' }),
    failureThreshold: option.integer('failureThreshold', options.failureThreshold, { min: 1, max: MAX_FAILURE_THRESHOLD, default: DEFAULT_FAILURE_THRESHOLD }),
    coolOffMs: option.milliseconds('coolOffMs', options.coolOffMs, { min: 1, default: DEFAULT_COOL_OFF_MS }),
    now: option.func('now', options.now, { default: monotonic })
  }
}
