import type { DecisionCallback, WindowStore } from './store.js'

/** A monotonic clock in whole microseconds: wall-clock steps must not open or close windows. */
export function monotonicMicros (): number {
  return Math.floor(performance.now() * 1000)
}

/**
 * The sliding-window log in this process: per key, the admission times (µs, ascending) of
 * the requests still in the window. At most `cacheSize` keys are kept; the least recently
 * used one is dropped to make room (a Map keeps insertion order, and each hit re-inserts
 * its key, unless it is the last inserted already).
 */
export class MemoryLog {
  private readonly logs = new Map<string, number[]>()
  /** The key inserted last, which a hit need not move; undefined when unknown. */
  private newest: string | undefined

  constructor (private readonly cacheSize: number, private readonly now: () => number = monotonicMicros) {}

  hit (key: string, windowMs: number, max: number, callback: DecisionCallback): void {
    const now = this.now()
    const windowUs = windowMs * 1000
    let log = this.logs.get(key)
    const known = log !== undefined
    if (log === undefined) log = []
    const expired = firstAfter(log, now - windowUs)
    // No array allocated for the dropped entries: shift and truncation trim in place.
    if (expired === 1) log.shift()
    else if (expired === log.length) log.length = 0
    else if (expired > 1) log.splice(0, expired)
    const admitted = log.length < max
    if (admitted) log.push(now)
    const count = log.length
    if (count === 0) {
      if (known) this.forget(key)
    } else if (!known) {
      this.add(key, log)
    } else if (key !== this.newest) {
      this.logs.delete(key)
      this.logs.set(key, log)
      this.newest = key
    }
    const next = log[admitted ? 0 : count - max]
    callback(null, admitted, count, next === undefined ? windowUs : next + windowUs - now)
  }

  /** Keys held, for tests of the bound. */
  get size (): number {
    return this.logs.size
  }

  private add (key: string, log: number[]): void {
    this.logs.set(key, log)
    this.newest = key
    if (this.logs.size > this.cacheSize) {
      const oldest = this.logs.keys().next().value as string
      this.logs.delete(oldest)
    }
  }

  private forget (key: string): void {
    this.logs.delete(key)
    if (key === this.newest) this.newest = undefined
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
    keyPrefix: '',
    hit (key, windowMs, max, callback) { log.hit(key, windowMs, max, callback) },
    async check () {},
    async close () {}
  }
}
