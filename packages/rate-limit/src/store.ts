import { createRequire } from 'node:module'
import { Redis } from 'ioredis'
import { StoreUnavailableError } from './errors.js'

export interface StoreResult {
  /** Requests counted in the current window, this one included. */
  current: number
  /** Milliseconds until the window ends. */
  ttl: number
}

export type IncrCallback = (error: Error | null, result: StoreResult | null) => void

/** Counts one request against `key` and reports the window's state; never waits past its timeout. */
export interface CounterStore {
  readonly kind: 'redis' | 'memory'
  incr (key: string, windowMs: number, max: number, callback: IncrCallback): void
  /** Gives a counter found without expiry its window back, in the background. */
  expire (key: string, windowMs: number): void
  /** Resolves when the store answers, rejects when it does not (for health checks). */
  check (): Promise<void>
  close (): Promise<void>
}

/** The counting primitives of @fastify/rate-limit: its atomic Lua INCR+PEXPIRE and its LRU. */
interface LibraryStore {
  incr (key: string, callback: IncrCallback, timeWindow: number, max: number): void
}
type RedisStoreCtor = new (continueExceeding: boolean, exponentialBackoff: boolean, redis: Redis, nameSpace: string) => LibraryStore
type LocalStoreCtor = new (continueExceeding: boolean, exponentialBackoff: boolean, cache: number) => LibraryStore

const require = createRequire(import.meta.url)
const RedisStore = require('@fastify/rate-limit/store/RedisStore.js') as RedisStoreCtor
const LocalStore = require('@fastify/rate-limit/store/LocalStore.js') as LocalStoreCtor

// Shared instances: during an outage every request fails the same way, and allocating
// (and capturing a stack for) one error per request would only add load.
const NOT_CONNECTED = new StoreUnavailableError('Redis is not connected')
const TIMED_OUT = new StoreUnavailableError('Redis did not answer in time')

function noop () {}

export function createMemoryStore (cacheSize: number): CounterStore {
  const store = new LocalStore(false, false, cacheSize)
  return {
    kind: 'memory',
    incr (key, windowMs, max, callback) { store.incr(key, callback, windowMs, max) },
    // Its counters always carry their window.
    expire: noop,
    async check () {},
    async close () {}
  }
}

export interface RedisStoreOptions {
  keyPrefix: string
  timeoutMs: number
  /** The plugin created the client and quits it on close. */
  owned: boolean
}

/** Whether the client's own settings already bound every command by `timeoutMs`. */
function boundsCommands (redis: Redis, timeoutMs: number): boolean {
  const { commandTimeout } = redis.options
  return typeof commandTimeout === 'number' && commandTimeout > 0 && commandTimeout <= timeoutMs
}

export function createRedisStore (redis: Redis, { keyPrefix, timeoutMs, owned }: RedisStoreOptions): CounterStore {
  const store = new RedisStore(false, false, redis, keyPrefix)
  // A client we did not configure may queue commands while offline or have no command
  // timeout; then a timer of our own bounds the wait.
  const guarded = !boundsCommands(redis, timeoutMs)

  function incrGuarded (key: string, windowMs: number, max: number, callback: IncrCallback) {
    let settled = false
    const timer = setTimeout(() => {
      settled = true
      callback(TIMED_OUT, null)
    }, timeoutMs)
    store.incr(key, (error, result) => {
      if (settled) return
      settled = true
      clearTimeout(timer)
      callback(error, result)
    }, windowMs, max)
  }

  return {
    kind: 'redis',
    incr (key, windowMs, max, callback) {
      // Fail at once rather than queue: 'wait' is a lazy client that connects on first use.
      const status = redis.status
      if (status !== 'ready' && status !== 'wait') {
        callback(NOT_CONNECTED, null)
      } else if (guarded) {
        incrGuarded(key, windowMs, max, callback)
      } else {
        store.incr(key, callback, windowMs, max)
      }
    },
    expire (key, windowMs) {
      // Callback form: answered or failed, nothing waits on it and nothing is left unhandled.
      redis.pexpire(keyPrefix + key, windowMs, noop)
    },
    async check () {
      if (redis.status !== 'ready') throw NOT_CONNECTED
      let timer: NodeJS.Timeout | undefined
      try {
        await Promise.race([
          redis.ping(),
          new Promise((resolve, reject) => { timer = setTimeout(reject, timeoutMs, TIMED_OUT) })
        ])
      } finally {
        clearTimeout(timer)
      }
    },
    async close () {
      if (!owned) return
      const ended = eventOrTimeout(redis, 'end', 1000)
      try {
        await redis.quit()
      } catch {
        redis.disconnect()
      }
      await ended
    }
  }
}

/**
 * Gives a host's client that is still connecting up to `timeoutMs` to become ready, so the
 * first requests after start-up are counted. A lazy client ('wait') connects on first use.
 */
export async function waitUntilReady (redis: Redis, timeoutMs: number): Promise<void> {
  const status = redis.status
  if (status === 'ready' || status === 'wait' || status === 'end') return
  await eventOrTimeout(redis, 'ready', timeoutMs)
}

/** Resolves on the event or after `timeoutMs`, whichever comes first; never rejects. */
function eventOrTimeout (redis: Redis, event: string, timeoutMs: number): Promise<void> {
  return new Promise((resolve) => {
    const timer = setTimeout(settle, timeoutMs)
    function settle () {
      clearTimeout(timer)
      redis.off(event, settle)
      resolve()
    }
    redis.on(event, settle)
  })
}

export interface ConnectOptions {
  timeoutMs: number
  connectTimeoutMs: number
  autoPipelining: boolean
  onError: (error: Error) => void
}

/**
 * A client of the plugin's own, tuned so that a dead Redis costs a request nothing: commands
 * time out after `timeoutMs`, nothing is queued while disconnected, nothing is retried or
 * replayed after a reconnect (a replayed INCR would count a request twice), and it
 * reconnects in the background. Resolves once connected, or after `connectTimeoutMs`
 * with the client still trying.
 */
export async function connectRedis (url: string, { timeoutMs, connectTimeoutMs, autoPipelining, onError }: ConnectOptions): Promise<Redis> {
  const redis = new Redis(url, {
    lazyConnect: true,
    connectionName: 'muejam-rate-limit',
    commandTimeout: timeoutMs,
    connectTimeout: connectTimeoutMs,
    enableOfflineQueue: false,
    maxRetriesPerRequest: 0,
    autoResendUnfulfilledCommands: false,
    enableAutoPipelining: autoPipelining,
    retryStrategy: (attempt) => Math.min(attempt * 50, 1000)
  })
  redis.on('error', onError)
  try {
    await redis.connect()
  } catch {
    // Reported through the 'error' listener; the client keeps reconnecting on its own.
  }
  return redis
}
