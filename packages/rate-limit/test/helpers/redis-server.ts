import { type ChildProcess, spawn } from 'node:child_process'
import { once } from 'node:events'
import { createServer } from 'node:net'
import { setTimeout as sleep } from 'node:timers/promises'
import { Redis } from 'ioredis'

interface Teardown { teardown (fn: () => unknown): void }

const HINT = 'Install Redis with: apt-get install -y redis-server (the tests start their own redis-server on a free port).'

export async function freePort (): Promise<number> {
  const server = createServer()
  server.listen(0, '127.0.0.1')
  await once(server, 'listening')
  const { port } = server.address() as { port: number }
  server.close()
  await once(server, 'close')
  return port
}

/** A redis-server of the test's own, on a free port, that the test may kill, freeze and restart. */
export class OwnRedis {
  private child: ChildProcess | undefined
  private constructor (readonly port: number) {}

  get url (): string { return `redis://127.0.0.1:${this.port}` }

  static async start (t: Teardown): Promise<OwnRedis> {
    const redis = OwnRedis.at(t, await freePort())
    await redis.restart()
    return redis
  }

  /** One for `port`, not started yet (`restart()` starts it). */
  static at (t: Teardown, port: number): OwnRedis {
    const redis = new OwnRedis(port)
    t.teardown(() => redis.kill())
    return redis
  }

  /** Starts (again) on the same port, with no persistence, and waits until it answers. */
  async restart (): Promise<void> {
    const child = spawn('redis-server', ['--port', String(this.port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no'], { stdio: 'ignore' })
    this.child = child
    const failed = once(child, 'error').then(([error]) => { throw new Error(`redis-server could not start: ${(error as Error).message}. ${HINT}`) })
    failed.catch(() => {})
    const deadline = Date.now() + 10_000
    while (Date.now() < deadline) {
      const probe = new Redis(this.url, { lazyConnect: true, enableOfflineQueue: false, retryStrategy: () => null, maxRetriesPerRequest: 0 })
      probe.on('error', () => {})
      try {
        await Promise.race([probe.connect().then(() => probe.ping()), failed])
        probe.disconnect()
        return
      } catch (error) {
        probe.disconnect()
        if (child.exitCode !== null || child.signalCode !== null || (error as Error).message.startsWith('redis-server could not')) {
          throw new Error(`redis-server exited at start on port ${this.port}. ${HINT}`)
        }
      }
      await sleep(50)
    }
    throw new Error(`redis-server did not answer on port ${this.port} within 10 s. ${HINT}`)
  }

  /** SIGKILL: the store vanishes at once, as in a crash. */
  async kill (): Promise<void> {
    const child = this.child
    this.child = undefined
    if (child === undefined || child.exitCode !== null || child.signalCode !== null) return
    child.kill('SIGCONT')
    const exited = once(child, 'exit')
    child.kill('SIGKILL')
    await exited
  }

  /** SIGSTOP: the store keeps its connections open but never answers. */
  freeze (): void { this.child?.kill('SIGSTOP') }
  thaw (): void { this.child?.kill('SIGCONT') }
}
