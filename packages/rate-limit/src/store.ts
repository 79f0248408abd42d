/** What the sliding-window log decided for one request. */
export interface WindowDecision {
  /** The request fits the budget; it was added to the log. A refused request is not. */
  admitted: boolean
  /** Requests in the log's trailing window once this one is decided (it included when admitted). */
  count: number
  /**
   * Microseconds until the next request passes when refused; when admitted, until the
   * oldest request in the window leaves it (a slot of the budget comes back).
   */
  resetUs: number
}

export type DecisionCallback = (error: Error | null, decision: WindowDecision | null) => void

/** Counts one request against `key` and reports the decision; never waits past its timeout. */
export interface WindowStore {
  readonly kind: 'redis' | 'memory'
  hit (key: string, windowMs: number, max: number, callback: DecisionCallback): void
  /** Resolves when the store answers, rejects when it does not (for health checks). */
  check (): Promise<void>
  close (): Promise<void>
}
