import { randomBytes } from 'node:crypto'
import { type CircuitBreaker, REJECTED } from '@muejam/circuit-breaker'
import type { Redis } from 'ioredis'
import { StoreUnavailableError } from './errors.js'
import { eventOrTimeout } from './redis-connection.js'
import { SLIDING_LOG_SCRIPT } from './sliding-log-script.js'
import type { DecisionCallback, WindowDecision, WindowStore } from './store.js'

/**
 * Name of the script as an ioredis command on the client: sent with EVALSHA, and with EVAL
 * when the server does not know the script yet (a new or restarted Redis).
 */
const COMMAND = 'muejamSlidingLog'

type ScriptReply = [admitted: number, count: number, resetUs: number]
type ScriptClient = Redis & {
  [COMMAND]: (key: string, windowUs: number, max: number, member: string, windowMs: number) => Promise<ScriptReply>
}

// Shared instances: during an outage every request fails the same way, and allocating
// (and capturing a stack for) one error per request would only add load.
const NOT_CONNECTED = new StoreUnavailableError('Redis is not connected')
const TIMED_OUT = new StoreUnavailableError('Redis did not answer in time')
const BREAKER_OPEN = new StoreUnavailableError('Redis is not called: its circuit breaker is open')

export interface RedisStoreOptions {
  keyPrefix: string
  timeoutMs: number
  /** The plugin created the client and quits it on close. */
  owned: boolean
  /** Keeps calls off Redis after a run of failures; every call and check goes through it. */
  breaker: CircuitBreaker
}

/** Whether the client's own settings already bound every command by `timeoutMs`. */
function boundsCommands (redis: Redis, timeoutMs: number): boolean {
  const { commandTimeout } = redis.options
  return typeof commandTimeout === 'number' && commandTimeout > 0 && commandTimeout <= timeoutMs
}

function decision ([admitted, count, resetUs]: ScriptReply): WindowDecision {
  return { admitted: admitted === 1, count, resetUs }
}

export function createRedisStore (redis: Redis, { keyPrefix, timeoutMs, owned, breaker }: RedisStoreOptions): WindowStore {
  redis.defineCommand(COMMAND, { numberOfKeys: 1, lua: SLIDING_LOG_SCRIPT })
  const client = redis as ScriptClient
  // Log members must be unique, or two requests in the same microsecond would be one entry.
  const instance = randomBytes(6).toString('base64url')
  let sequence = 0
  // A client we did not configure may queue commands while offline or have no command
  // timeout; then a timer of our own bounds the wait.
  const guarded = !boundsCommands(redis, timeoutMs)

  function run (key: string, windowMs: number, max: number, callback: DecisionCallback): void {
    client[COMMAND](keyPrefix + key, windowMs * 1000, max, `${instance}:${sequence++}`, windowMs)
      .then((reply) => callback(null, decision(reply)), (error: Error) => callback(error, null))
  }

  function runGuarded (key: string, windowMs: number, max: number, callback: DecisionCallback): void {
    let settled = false
    const timer = setTimeout(() => {
      settled = true
      callback(TIMED_OUT, null)
    }, timeoutMs)
    run(key, windowMs, max, (error, result) => {
      if (settled) return
      settled = true
      clearTimeout(timer)
      callback(error, result)
    })
  }

  function settle (permit: number, callback: DecisionCallback): DecisionCallback {
    return (error, result) => {
      if (error === null) breaker.succeeded(permit)
      else breaker.failed(permit)
      callback(error, result)
    }
  }

  async function ping (): Promise<void> {
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
  }

  return {
    kind: 'redis',
    hit (key, windowMs, max, callback) {
      const permit = breaker.permit()
      if (permit === REJECTED) {
        callback(BREAKER_OPEN, null)
        return
      }
      // Fail at once rather than queue: 'wait' is a lazy client that connects on first use.
      const status = redis.status
      if (status !== 'ready' && status !== 'wait') {
        breaker.failed(permit)
        callback(NOT_CONNECTED, null)
      } else if (guarded) {
        runGuarded(key, windowMs, max, settle(permit, callback))
      } else {
        run(key, windowMs, max, settle(permit, callback))
      }
    },
    async check () {
      const permit = breaker.permit()
      if (permit === REJECTED) throw BREAKER_OPEN
      try {
        await ping()
      } catch (error) {
        breaker.failed(permit)
        throw error
      }
      breaker.succeeded(permit)
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
