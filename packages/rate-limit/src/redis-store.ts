import { createHash, randomBytes } from 'node:crypto'
import { type CircuitBreaker, REJECTED } from '@muejam/circuit-breaker'
import { Command, type Redis } from 'ioredis'
import { StoreUnavailableError } from './errors.js'
import { eventOrTimeout } from './redis-connection.js'
import { SLIDING_LOG_SCRIPT } from './sliding-log-script.js'
import type { DecisionCallback, WindowStore } from './store.js'

const SCRIPT_SHA = createHash('sha1').update(SLIDING_LOG_SCRIPT).digest('hex')

type ScriptReply = [admitted: number, count: number, resetUs: number]
type ReplyCallback = (error?: Error | null, reply?: ScriptReply) => void

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

/** A new or restarted Redis does not know the script yet: then it is sent whole, once. */
function isMissingScript (error: Error): boolean {
  return error.message.startsWith('NOSCRIPT')
}

/**
 * The log on Redis: one script call per request, sent as a plain EVALSHA command (EVAL when
 * Redis answers NOSCRIPT). ioredis' defined commands and auto-pipelining build a script
 * wrapper, a pipeline and several promises per call; here it is one command and one
 * callback. With auto-pipelining on, the commands of one turn of the event loop still leave
 * in one write: the socket is corked until the turn ends.
 */
export function createRedisStore (redis: Redis, { keyPrefix, timeoutMs, owned, breaker }: RedisStoreOptions): WindowStore {
  // Log members must be unique, or two requests in the same microsecond would be one entry.
  const memberPrefix = randomBytes(6).toString('base64url') + ':'
  let sequence = 0
  // A client we did not configure may queue commands while offline or have no command
  // timeout; then a timer of our own bounds the wait.
  const guarded = !boundsCommands(redis, timeoutMs)
  const batching = redis.options.enableAutoPipelining === true
  let corked: Redis['stream'] | null = null

  function uncork (): void {
    (corked as Redis['stream']).uncork()
    corked = null
  }

  function send (name: 'evalsha' | 'eval', script: string, key: string, windowMs: number, max: number, member: string, callback: ReplyCallback): void {
    // A cluster client has no stream of its own: its commands leave one by one.
    if (batching && corked === null && redis.status === 'ready' && redis.stream !== undefined) {
      corked = redis.stream
      corked.cork()
      setImmediate(uncork)
    }
    redis.sendCommand(new Command(name, [script, 1, key, windowMs * 1000, max, member, windowMs], undefined, callback))
  }

  function call (key: string, windowMs: number, max: number, permit: number, callback: DecisionCallback): void {
    const member = memberPrefix + sequence++
    let settled = false
    let timer: NodeJS.Timeout | undefined
    function answer (error?: Error | null, reply?: ScriptReply): void {
      if (error != null && isMissingScript(error)) {
        send('eval', SLIDING_LOG_SCRIPT, key, windowMs, max, member, answer)
        return
      }
      // An answer after our own timer fired is not the request's any more, nor the breaker's.
      if (settled) return
      settled = true
      if (timer !== undefined) clearTimeout(timer)
      if (error == null) {
        breaker.succeeded(permit)
        const decided = reply as ScriptReply
        callback(null, decided[0] === 1, decided[1], decided[2])
      } else {
        breaker.failed(permit)
        callback(error, false, 0, 0)
      }
    }
    if (guarded) {
      timer = setTimeout(() => {
        settled = true
        breaker.failed(permit)
        callback(TIMED_OUT, false, 0, 0)
      }, timeoutMs)
    }
    send('evalsha', SCRIPT_SHA, key, windowMs, max, member, answer)
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
    // A prefix set on the client applies to these keys too, as to every command it sends
    // (ioredis makes it '' when none is given).
    keyPrefix: (redis.options.keyPrefix as string) + keyPrefix,
    hit (key, windowMs, max, callback) {
      const permit = breaker.permit()
      if (permit === REJECTED) {
        callback(BREAKER_OPEN, false, 0, 0)
        return
      }
      // Fail at once rather than queue: 'wait' is a lazy client that connects on first use.
      const status = redis.status
      if (status !== 'ready' && status !== 'wait') {
        breaker.failed(permit)
        callback(NOT_CONNECTED, false, 0, 0)
      } else {
        call(key, windowMs, max, permit, callback)
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
