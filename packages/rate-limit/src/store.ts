/**
 * What the sliding-window log decided for one request, as arguments rather than an object
 * (one call per request, nothing allocated for it):
 * - `admitted`: the request fits the budget; it was added to the log. A refused request is not.
 * - `count`: requests in the log's trailing window once this one is decided (it included when admitted).
 * - `resetUs`: microseconds until the next request passes when refused; when admitted, until
 *   the oldest request in the window leaves it (a slot of the budget comes back).
 *
 * On an error the other arguments are `false`, `0`, `0`.
 */
export type DecisionCallback = (error: Error | null, admitted: boolean, count: number, resetUs: number) => void

/** Counts one request against `key` and reports the decision; never waits past its timeout. */
export interface WindowStore {
  readonly kind: 'redis' | 'memory'
  /** What every key handed to `hit` starts with (the Redis key prefix; empty in process). */
  readonly keyPrefix: string
  hit (key: string, windowMs: number, max: number, callback: DecisionCallback): void
  /** Resolves when the store answers, rejects when it does not (for health checks). */
  check (): Promise<void>
  close (): Promise<void>
}
