import { type ChildProcess, spawn } from 'node:child_process'
import { randomBytes } from 'node:crypto'
import { once } from 'node:events'
import { connect } from 'node:net'
import { setTimeout as sleep } from 'node:timers/promises'
import { createTestRedis } from '@muejam/testing/redis'
import { freePort } from './api-process.js'

interface Test {
  teardown(fn: () => unknown): void
}

/*
 * Spawned API processes cannot be given a key prefix (the configuration has none, and the
 * rate-limit keys always start with `muejam:rl:`). So a test that shares the test Redis
 * claims a whole logical database for itself and points REDIS_URL at it.
 */

const CLAIM_KEY = 'muejam-test:claimed-by'
const CLAIM_TTL_MS = 10 * 60_000
/** Database 0 is left to everything that uses key prefixes (package tests, the benchmark). */
const FIRST_DATABASE = 1
const RATE_LIMIT_KEYS = 'muejam:rl:*'

type Client = Awaited<ReturnType<typeof createTestRedis>>['client']

export interface ClaimedRedis {
  /** TEST_REDIS_URL with this database's number, for REDIS_URL. */
  url: string
  index: number
  /** A client on this database, for inspecting counters. */
  client: Client
  /** Deletes every rate-limit counter in this database. */
  clearCounters(): Promise<void>
}

async function deleteMatching (client: Client, pattern: string): Promise<void> {
  let cursor = '0'
  do {
    const [next, keys] = await client.scan(cursor, 'MATCH', pattern, 'COUNT', 500)
    if (keys.length > 0) await client.del(...keys)
    cursor = next
  } while (cursor !== '0')
}

/**
 * Claims a logical database of the test Redis that no other test holds (a `SET NX` marker
 * with an expiry, in case a run dies), for this test alone. At teardown its rate-limit
 * counters are deleted and the claim released. Fails with how to start Redis when absent.
 */
export async function claimRedisDatabase (t: Test, label: string): Promise<ClaimedRedis> {
  const shared = await createTestRedis(t, label)
  const owner = `${label}:${process.pid}:${randomBytes(4).toString('hex')}`
  const databases = Number((await shared.client.config('GET', 'databases') as string[])[1] ?? 16)
  for (let index = FIRST_DATABASE; index < databases; index++) {
    const client = shared.client.duplicate({ db: index })
    const claimed = await client.set(CLAIM_KEY, owner, 'PX', CLAIM_TTL_MS, 'NX')
    if (claimed !== 'OK') {
      await client.quit()
      continue
    }
    const clearCounters = () => deleteMatching(client, RATE_LIMIT_KEYS)
    // Left by an earlier run that died before its teardown.
    await clearCounters()
    t.teardown(async () => {
      await clearCounters()
      if (await client.get(CLAIM_KEY) === owner) await client.del(CLAIM_KEY)
      await client.quit()
    })
    const url = new URL(shared.url)
    url.pathname = `/${index}`
    return { url: url.href, index, client, clearCounters }
  }
  throw new Error(`every Redis database from ${FIRST_DATABASE} to ${databases - 1} is claimed by another test; wait for them to finish or raise "databases" in redis.conf`)
}

const INSTALL_HINT = 'Install Redis with: apt-get install -y redis-server (this test starts its own redis-server on a free port).'

/** Whether a Redis answers PING on `port` within a short time. */
function answersPing (port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = connect({ host: '127.0.0.1', port })
    const finish = (answer: boolean) => {
      socket.destroy()
      resolve(answer)
    }
    socket.setTimeout(500, () => finish(false))
    socket.once('error', () => finish(false))
    socket.once('connect', () => socket.write('PING\r\n'))
    socket.once('data', (data) => finish(data.toString().startsWith('+PONG')))
  })
}

/** A redis-server of the test's own, on a free port, which the test kills and restarts. */
export class OwnRedisServer {
  private child: ChildProcess | undefined

  private constructor (readonly port: number) {}

  get url (): string { return `redis://127.0.0.1:${this.port}` }

  static async start (t: Test): Promise<OwnRedisServer> {
    const server = new OwnRedisServer(await freePort())
    t.teardown(() => server.kill())
    await server.restart()
    return server
  }

  /** Starts it (again) on the same port, empty and without persistence, and waits until it answers. */
  async restart (): Promise<void> {
    const child = spawn('redis-server', ['--port', String(this.port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no'], { stdio: 'ignore' })
    this.child = child
    let failure: Error | undefined
    child.once('error', (error) => { failure = error })
    const deadline = Date.now() + 10_000
    while (Date.now() < deadline) {
      if (failure !== undefined) throw new Error(`redis-server could not start: ${failure.message}. ${INSTALL_HINT}`)
      if (child.exitCode !== null) throw new Error(`redis-server exited at start on port ${this.port} (code ${child.exitCode}). ${INSTALL_HINT}`)
      if (await answersPing(this.port)) return
      await sleep(50)
    }
    throw new Error(`redis-server did not answer on port ${this.port} within 10 s. ${INSTALL_HINT}`)
  }

  /** SIGKILL: the store vanishes at once, as in a crash. */
  async kill (): Promise<void> {
    const child = this.child
    this.child = undefined
    if (child === undefined || child.exitCode !== null || child.signalCode !== null) return
    const exited = once(child, 'exit')
    child.kill('SIGKILL')
    await exited
  }
}
