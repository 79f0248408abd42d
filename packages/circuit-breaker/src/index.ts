export { BREAKER_STATE_VALUES, CircuitBreaker, REJECTED, type BreakerState, type CircuitBreakerEvents, type StateChange } from './breaker.js'
export { BreakerOpenError, InvalidOptionError } from './errors.js'
export { DEFAULT_COOL_OFF_MS, DEFAULT_FAILURE_THRESHOLD, MAX_FAILURE_THRESHOLD, type CircuitBreakerOptions } from './options.js'
