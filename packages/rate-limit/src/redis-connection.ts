import { Redis } from 'ioredis'

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
export function eventOrTimeout (redis: Redis, event: string, timeoutMs: number): Promise<void> {
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
 * replayed after a reconnect (a replayed script would count a request twice), and it
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
