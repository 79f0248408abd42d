import { type ChildProcess, spawn } from 'node:child_process'
import { once } from 'node:events'
import { type IncomingHttpHeaders, request as httpRequest } from 'node:http'
import { createServer, type AddressInfo } from 'node:net'
import { fileURLToPath } from 'node:url'
import { setTimeout as sleep } from 'node:timers/promises'
import { TEST_AUTH_ENV } from './auth.js'

/*
 * Real API processes (`node dist/server.js`, built by `pnpm build`) on ports of their own,
 * configured by environment variables only, as in production; and a plain HTTP client that
 * can pick its source address on the loopback network (127.0.0.0/8), so a test gets as
 * many distinct client IPs as it needs without any proxy header.
 */

interface Test {
  teardown(fn: () => unknown): void
}

const API_ROOT = fileURLToPath(new URL('../..', import.meta.url))
const SERVER_JS = fileURLToPath(new URL('../../dist/server.js', import.meta.url))
const MIGRATE_JS = fileURLToPath(new URL('../../dist/db/migrate.js', import.meta.url))
const BUILD_HINT = 'Build it first with: cd /work/main && pnpm build (pnpm test builds before testing).'

/** Every spawned process starts from this, then the test's own variables. */
const BASE_ENV = {
  NODE_ENV: 'test',
  HOST: '127.0.0.1',
  LOG_LEVEL: 'info',
  ...TEST_AUTH_ENV
}

export async function freePort (): Promise<number> {
  const server = createServer()
  server.listen(0, '127.0.0.1')
  await once(server, 'listening')
  const { port } = server.address() as AddressInfo
  await new Promise((resolve) => server.close(resolve))
  return port
}

export interface ApiResponse {
  status: number
  headers: IncomingHttpHeaders
  body: string
  /** From the request's start to the response's last byte, in ms. */
  ms: number
  json<T = Record<string, unknown>>(): T
}

export interface RequestOptions {
  method?: string
  path: string
  headers?: Record<string, string>
  /** Sent as JSON. */
  body?: unknown
  /** The client's source address, e.g. `127.0.0.2`; default 127.0.0.1. */
  localAddress?: string
  /** Fails the request after this long, in ms. Default: 10000. */
  timeoutMs?: number
}

/** One request on a fresh connection to 127.0.0.1:`port`. */
export function send (port: number, { method = 'GET', path, headers = {}, body, localAddress, timeoutMs = 10_000 }: RequestOptions): Promise<ApiResponse> {
  const payload = body === undefined ? undefined : JSON.stringify(body)
  const allHeaders: Record<string, string> = { ...headers }
  if (payload !== undefined) {
    allHeaders['content-type'] = 'application/json'
    allHeaders['content-length'] = String(Buffer.byteLength(payload))
  }
  const started = performance.now()
  return new Promise((resolve, reject) => {
    const outgoing = httpRequest({ host: '127.0.0.1', port, method, path, headers: allHeaders, localAddress, agent: false }, (incoming) => {
      let text = ''
      incoming.setEncoding('utf8')
      incoming.on('data', (chunk: string) => { text += chunk })
      incoming.on('error', reject)
      incoming.on('end', () => {
        resolve({
          status: incoming.statusCode ?? 0,
          headers: incoming.headers,
          body: text,
          ms: performance.now() - started,
          json: <T>() => JSON.parse(text) as T
        })
      })
    })
    outgoing.setTimeout(timeoutMs, () => outgoing.destroy(new Error(`${method} ${path} on port ${port}: no answer within ${timeoutMs} ms`)))
    outgoing.on('error', reject)
    outgoing.end(payload)
  })
}

export interface Exit {
  code: number | null
  signal: NodeJS.Signals | null
}

export interface ApiProcess {
  readonly port: number
  readonly pid: number
  /** Everything the process wrote to stdout and stderr so far. */
  output(): string
  /** Its JSON log lines so far, parsed (other output is skipped). */
  logs(): Array<Record<string, unknown>>
  request(options: RequestOptions | string): Promise<ApiResponse>
  /** Whether it has exited. */
  readonly exited: boolean
  /** Resolves when it exits. */
  exit(): Promise<Exit>
  /** Sends `signal` (default SIGTERM) and resolves with how the process exited. */
  terminate(signal?: NodeJS.Signals): Promise<Exit>
}

const ADDRESS_IN_USE = /EADDRINUSE/

class SpawnedApi implements ApiProcess {
  private text = ''
  private readonly exitPromise: Promise<Exit>
  private done = false

  constructor (readonly port: number, private readonly child: ChildProcess) {
    child.stdout?.setEncoding('utf8').on('data', (chunk: string) => { this.text += chunk })
    child.stderr?.setEncoding('utf8').on('data', (chunk: string) => { this.text += chunk })
    this.exitPromise = new Promise((resolve) => {
      child.on('exit', (code, signal) => {
        this.done = true
        resolve({ code, signal })
      })
    })
  }

  get pid (): number { return this.child.pid ?? -1 }
  get exited (): boolean { return this.done }

  output (): string { return this.text }

  logs (): Array<Record<string, unknown>> {
    return this.text.split('\n').filter((line) => line.startsWith('{')).flatMap((line) => {
      try {
        return [JSON.parse(line) as Record<string, unknown>]
      } catch {
        return []
      }
    })
  }

  request (options: RequestOptions | string): Promise<ApiResponse> {
    return send(this.port, typeof options === 'string' ? { path: options } : options)
  }

  exit (): Promise<Exit> { return this.exitPromise }

  terminate (signal: NodeJS.Signals = 'SIGTERM'): Promise<Exit> {
    if (!this.done) this.child.kill(signal)
    return this.exitPromise
  }

  /** SIGTERM, then SIGKILL if it is still running after `graceMs`. */
  async stop (graceMs: number): Promise<void> {
    if (this.done) return
    this.child.kill('SIGTERM')
    const killer = setTimeout(() => this.child.kill('SIGKILL'), graceMs)
    await this.exitPromise
    clearTimeout(killer)
  }

  /** Resolves once `/health/live` answers 200; rejects when the process exits first. */
  async waitUntilLive (timeoutMs: number): Promise<void> {
    const deadline = Date.now() + timeoutMs
    while (Date.now() < deadline) {
      if (this.done) throw new ExitedEarly(this.text)
      try {
        const response = await this.request({ path: '/health/live', timeoutMs: 1000 })
        if (response.status === 200) return
      } catch {
        // Not listening yet.
      }
      await sleep(50)
    }
    throw new Error(`the API on port ${this.port} did not answer /health/live within ${timeoutMs} ms. Output:\n${this.text}`)
  }
}

class ExitedEarly extends Error {
  constructor (readonly output: string) {
    super(`the API exited before it answered /health/live. Output:\n${output}`)
  }
}

export interface StartOptions {
  /** Longest wait for `/health/live`, in ms. Default: 30000 (generous for a loaded machine). */
  startTimeoutMs?: number
  /** At teardown: SIGTERM, then SIGKILL after this long, in ms. Default: 10000. */
  stopGraceMs?: number
}

/**
 * Starts one API process with `env` (over quiet test defaults and the test issuer) on a
 * free port and waits until it is live. It is stopped at teardown.
 */
export async function startApiProcess (t: Test, env: Record<string, string>, { startTimeoutMs = 30_000, stopGraceMs = 10_000 }: StartOptions = {}): Promise<ApiProcess> {
  // A free port can be taken between the probe and the server's listen(): try another.
  for (let attempt = 1; ; attempt++) {
    const port = await freePort()
    const child = spawn(process.execPath, [SERVER_JS], {
      cwd: API_ROOT,
      env: { PATH: process.env.PATH ?? '', ...BASE_ENV, ...env, PORT: String(port) },
      stdio: ['ignore', 'pipe', 'pipe']
    })
    const api = new SpawnedApi(port, child)
    t.teardown(() => api.stop(stopGraceMs))
    try {
      await api.waitUntilLive(startTimeoutMs)
      return api
    } catch (error) {
      if (error instanceof ExitedEarly && ADDRESS_IN_USE.test(error.output) && attempt < 3) continue
      if (error instanceof ExitedEarly && /Cannot find module/.test(error.output)) throw new Error(`${error.message}\n${BUILD_HINT}`)
      throw error
    }
  }
}

/** Starts `count` API processes with the same `env`, side by side. */
export function startApiProcesses (t: Test, count: number, env: Record<string, string>, options?: StartOptions): Promise<ApiProcess[]> {
  return Promise.all(Array.from({ length: count }, () => startApiProcess(t, env, options)))
}

/** Applies every migration to `databaseUrl` with the production entry point (`node dist/db/migrate.js`). */
export async function migrate (databaseUrl: string): Promise<void> {
  const child = spawn(process.execPath, [MIGRATE_JS], {
    cwd: API_ROOT,
    env: { PATH: process.env.PATH ?? '', NODE_ENV: 'test', LOG_LEVEL: 'warn', DATABASE_URL: databaseUrl },
    stdio: ['ignore', 'pipe', 'pipe']
  })
  let output = ''
  child.stdout.setEncoding('utf8').on('data', (chunk: string) => { output += chunk })
  child.stderr.setEncoding('utf8').on('data', (chunk: string) => { output += chunk })
  const [code] = await once(child, 'exit') as [number | null]
  if (code !== 0) throw new Error(`migrations failed (exit ${code}):\n${output}${/Cannot find module/.test(output) ? `\n${BUILD_HINT}` : ''}`)
}
