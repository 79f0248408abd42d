import type { WindowDecision, WindowStore } from './store.js'

/** A monotonic clock in whole microseconds: wall-clock steps must not open or close windows. */
export function monotonicMicros (): number {
  return Math.floor(performance.now() * 1000)
}

/**
 * The sliding-window log in this process: per key, the admission times (µs, ascending) of
 * the requests still in the window. At most `cacheSize` keys are kept; the least recently
 * used one is dropped to make room (a Map keeps insertion order, and each hit re-inserts).
 */
export class MemoryLog {
  private readonly logs = new Map<string, number[]>()

  constructor (private readonly cacheSize: number, private readonly now: () => number = monotonicMicros) {}

  hit (key: string, windowMs: number, max: number): WindowDecision {
    const now = this.now()
    const windowUs = windowMs * 1000
    const log = this.logs.get(key) ?? []
    this.logs.delete(key)
    const expired = firstAfter(log, now - windowUs)
    if (expired > 0) log.splice(0, expired)
    const admitted = log.length < max
    if (admitted) log.push(now)
    const count = log.length
    if (count > 0) this.remember(key, log)
    const next = log[admitted ? 0 : count - max]
    return { admitted, count, resetUs: next === undefined ? windowUs : next + windowUs - now }
  }

  /** Keys held, for tests of the bound. */
  get size (): number {
    return this.logs.size
  }

  private remember (key: string, log: number[]): void {
    this.logs.set(key, log)
    if (this.logs.size > this.cacheSize) {
      const oldest = this.logs.keys().next().value as string
      this.logs.delete(oldest)
    }
  }
}

/** Index of the first time after `cutoff` (binary search over ascending times). */
function firstAfter (times: number[], cutoff: number): number {
  let low = 0
  let high = times.length
  while (low < high) {
    const middle = (low + high) >>> 1
    if ((times[middle] as number) <= cutoff) low = middle + 1
    else high = middle
  }
  return low
}

export function createMemoryStore (cacheSize: number, now?: () => number): WindowStore {
  const log = new MemoryLog(cacheSize, now)
  return {
    kind: 'memory',
    hit (key, windowMs, max, callback) { callback(null, log.hit(key, windowMs, max)) },
    async check () {},
    async close () {}
  }
}
