import { type ChildProcess, spawn } from 'node:child_process'
import { once } from 'node:events'
import { connect } from 'node:net'
import { setTimeout as sleep } from 'node:timers/promises'
import { freePort } from './free-port.js'

interface Teardown { teardown(fn: () => unknown): void }

const INSTALL_HINT = 'Install Redis with: apt-get install -y redis-server (the tests start their own redis-server on a free port).'

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

/**
 * A redis-server of the test's own, on a port of its own, which the test may kill, freeze
 * and restart. Killed at teardown.
 */
export class OwnRedis {
  private child: ChildProcess | undefined

  private constructor (readonly port: number) {}

  get url (): string { return `redis://127.0.0.1:${this.port}` }

  /** Starts one on a free port and waits until it answers. */
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
    child.kill('SIGCONT')
    const exited = once(child, 'exit')
    child.kill('SIGKILL')
    await exited
  }

  /** SIGSTOP: the store keeps its connections open but never answers. */
  freeze (): void { this.child?.kill('SIGSTOP') }
  /** SIGCONT: a frozen store answers again. */
  thaw (): void { this.child?.kill('SIGCONT') }
}
