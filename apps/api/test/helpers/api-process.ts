import { type ChildProcess, spawn } from 'node:child_process'
import { once } from 'node:events'
import { type Agent, type IncomingHttpHeaders, request as httpRequest } from 'node:http'
import { setTimeout as sleep } from 'node:timers/promises'
import { fileURLToPath } from 'node:url'
import { freePort } from '@muejam/testing/free-port'
import { TEST_AUTH_ENV } from './auth.js'

/*
 * The production entry points as real processes, built by `pnpm build`: API servers
 * (`node dist/bundle/server.js`, dist/server.js bundled into one file) on ports of their own, configured by environment variables only,
 * for what only a real process shows (signals, exit codes, sockets, shutdown, several
 * instances); the scripts beside them (`dist/token.js`, `dist/db/migrate.js`); and a plain
 * HTTP client that can pick its source address on the loopback network (127.0.0.0/8), so a
 * test gets as many distinct client IPs as it needs without any proxy header.
 */

interface Test {
  teardown(fn: () => unknown): void
}

const API_ROOT = fileURLToPath(new URL('../..', import.meta.url))
export const SERVER_JS = fileURLToPath(new URL('../../dist/bundle/server.js', import.meta.url))
export const TOKEN_JS = fileURLToPath(new URL('../../dist/token.js', import.meta.url))
const MIGRATE_JS = fileURLToPath(new URL('../../dist/db/migrate.js', import.meta.url))
const BUILD_HINT = 'Build it first with: cd /work/main && pnpm build (pnpm test builds before testing).'

const withBuildHint = (output: string) => /Cannot find module/.test(output) ? `\n${BUILD_HINT}` : ''

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
  /** A keep-alive agent to reuse connections; default: a fresh connection. */
  agent?: Agent
  /** Fails the request after this long without an answer, in ms. Default: 10000. */
  timeoutMs?: number
}

/** One HTTP request to 127.0.0.1:`port` over a real socket. */
export function send (port: number, { method = 'GET', path, headers = {}, body, localAddress, agent, timeoutMs = 10_000 }: RequestOptions): Promise<ApiResponse> {
  const payload = body === undefined ? undefined : JSON.stringify(body)
  const allHeaders: Record<string, string> = { ...headers }
  if (payload !== undefined) {
    allHeaders['content-type'] = 'application/json'
    allHeaders['content-length'] = String(Buffer.byteLength(payload))
  }
  const started = performance.now()
  return new Promise((resolve, reject) => {
    const outgoing = httpRequest({ host: '127.0.0.1', port, method, path, headers: allHeaders, localAddress, agent: agent ?? false }, (incoming) => {
      let text = ''
      incoming.setEncoding('utf8')
      incoming.on('data', (chunk: string) => { text += chunk })
      incoming.on('error', reject)
      incoming.on('end', () => resolve({
        status: incoming.statusCode ?? 0,
        headers: incoming.headers,
        body: text,
        ms: performance.now() - started,
        json: <T>() => JSON.parse(text) as T
      }))
    })
    outgoing.setTimeout(timeoutMs, () => outgoing.destroy(new Error(`${method} ${path} on port ${port}: no answer within ${timeoutMs} ms`)))
    outgoing.on('error', reject)
    outgoing.end(payload)
  })
}

export interface ExitStatus {
  code: number | null
  signal: NodeJS.Signals | null
}

export interface Exit extends ExitStatus {
  /** When the process exited, `performance.now()`. */
  at: number
}

export interface ApiProcess {
  readonly port: number
  /** `http://127.0.0.1:<port>`. */
  readonly url: string
  readonly pid: number
  /** Everything the process wrote to stdout and stderr so far. */
  output(): string
  /** Its JSON log lines (stdout) so far, parsed; other output is skipped. */
  logs(): Array<Record<string, unknown>>
  request(options: RequestOptions | string): Promise<ApiResponse>
  /** Whether it has exited. */
  readonly exited: boolean
  /** Resolves when it has exited and all its output has been read. */
  exit(): Promise<Exit>
  /** Sends `signal`; returns when it was sent, `performance.now()`. */
  signal(signal: NodeJS.Signals): number
  /** Sends `signal` (default SIGTERM) unless it has exited, and resolves with its exit code and signal. */
  terminate(signal?: NodeJS.Signals): Promise<ExitStatus>
}

class ExitedEarly extends Error {
  constructor (readonly output: string) {
    super(`the API exited before it answered /health/live. Output:\n${output}${withBuildHint(output)}`)
  }
}

class SpawnedApi implements ApiProcess {
  private text = ''
  private stdout = ''
  private done = false
  private readonly exitPromise: Promise<Exit>

  constructor (readonly port: number, private readonly child: ChildProcess) {
    child.stdout?.setEncoding('utf8').on('data', (chunk: string) => {
      this.text += chunk
      this.stdout += chunk
    })
    child.stderr?.setEncoding('utf8').on('data', (chunk: string) => { this.text += chunk })
    let at = 0
    child.once('exit', () => {
      at = performance.now()
      this.done = true
    })
    // 'close' comes after 'exit', once every byte the process wrote has been read.
    this.exitPromise = new Promise((resolve) => {
      child.once('close', (code: number | null, signal: NodeJS.Signals | null) => {
        this.done = true
        resolve({ code, signal, at: at === 0 ? performance.now() : at })
      })
    })
  }

  get url (): string { return `http://127.0.0.1:${this.port}` }
  get pid (): number { return this.child.pid ?? -1 }
  get exited (): boolean { return this.done }

  output (): string { return this.text }

  logs (): Array<Record<string, unknown>> {
    return this.stdout.split('\n').filter((line) => line.startsWith('{')).flatMap((line) => {
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

  signal (signal: NodeJS.Signals): number {
    this.child.kill(signal)
    return performance.now()
  }

  async terminate (signal: NodeJS.Signals = 'SIGTERM'): Promise<ExitStatus> {
    if (!this.done) this.child.kill(signal)
    const { code, signal: by } = await this.exitPromise
    return { code, signal: by }
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
      if (this.done) {
        await this.exitPromise
        throw new ExitedEarly(this.text)
      }
      try {
        if ((await this.request({ path: '/health/live', timeoutMs: 1000 })).status === 200) return
      } catch {
        // Not listening yet.
      }
      await sleep(50)
    }
    throw new Error(`the API on port ${this.port} did not answer /health/live within ${timeoutMs} ms. Output:\n${this.text}`)
  }
}

export interface StartOptions {
  /** Longest wait for `/health/live`, in ms. Default: 30000 (generous for a loaded machine). */
  startTimeoutMs?: number
  /** At teardown: SIGTERM, then SIGKILL after this long, in ms. Default: 10000. */
  stopGraceMs?: number
  /** Working directory. Default: apps/api. */
  cwd?: string
  /** The server entry point to run. Default: apps/api's `dist/bundle/server.js`. */
  serverJs?: string
  /** Runs the server under `script`, so its stdout and stderr are a pseudo-terminal, as in a developer's shell. */
  terminal?: boolean
  /**
   * Whether the process trusts the tokens of `authHeaders()` (TEST_AUTH_ENV under `env`).
   * Default: true; false leaves the issuer to `env`.
   */
  testAuth?: boolean
  /** Listen on this port (a replacement on its predecessor's, as a balancer's upstream expects); default: a free one. */
  port?: number
}

/**
 * Starts one API process with `env` (over quiet test defaults and, unless `testAuth` is
 * false, the test issuer) on a free port and waits until it is live. It is stopped at
 * teardown if it is still running.
 */
export async function startApiProcess (t: Test, env: Record<string, string>, { startTimeoutMs = 30_000, stopGraceMs = 10_000, cwd = API_ROOT, testAuth = true, serverJs = SERVER_JS, terminal = false, port: fixedPort }: StartOptions = {}): Promise<ApiProcess> {
  // `script -qec <command> /dev/null` gives the command a pseudo-terminal, copies what it
  // writes to script's stdout, and exits with its code; exec lets signals reach node itself.
  const [file, args] = terminal
    ? ['script', ['-qec', `exec ${shellQuote(process.execPath)} ${shellQuote(serverJs)}`, '/dev/null']]
    : [process.execPath, [serverJs]]
  // A free port can be taken between the probe and the server's listen(): try another.
  for (let attempt = 1; ; attempt++) {
    const port = fixedPort ?? await freePort()
    const child = spawn(file, args, {
      cwd,
      env: { PATH: process.env.PATH ?? '', NODE_ENV: 'test', HOST: '127.0.0.1', LOG_LEVEL: 'info', ...(testAuth ? TEST_AUTH_ENV : {}), ...env, PORT: String(port) },
      stdio: ['ignore', 'pipe', 'pipe']
    })
    const api = new SpawnedApi(port, child)
    t.teardown(() => api.stop(stopGraceMs))
    try {
      await api.waitUntilLive(startTimeoutMs)
      return api
    } catch (error) {
      if (error instanceof ExitedEarly && /EADDRINUSE/.test(error.output) && attempt < 3 && fixedPort === undefined) continue
      throw error
    }
  }
}

function shellQuote (text: string): string {
  return `'${text.replaceAll("'", "'\\''")}'`
}

/** Starts `count` API processes with the same `env`, side by side. */
export function startApiProcesses (t: Test, count: number, env: Record<string, string>, options?: StartOptions): Promise<ApiProcess[]> {
  return Promise.all(Array.from({ length: count }, () => startApiProcess(t, env, options)))
}

export interface ScriptResult {
  code: number | null
  stdout: string
  stderr: string
}

/** Runs a built script to completion (e.g. `dist/token.js`, or a server that must refuse to start). */
export async function runScript (script: string, args: string[], { env, cwd }: { env: Record<string, string>, cwd?: string }): Promise<ScriptResult> {
  const child = spawn(process.execPath, [script, ...args], {
    cwd,
    env: { PATH: process.env.PATH ?? '', ...env },
    stdio: ['ignore', 'pipe', 'pipe']
  })
  let stdout = ''
  let stderr = ''
  child.stdout.setEncoding('utf8').on('data', (chunk: string) => { stdout += chunk })
  child.stderr.setEncoding('utf8').on('data', (chunk: string) => { stderr += chunk })
  const [code] = await once(child, 'close') as [number | null]
  return { code, stdout, stderr }
}

/** Applies every migration to `databaseUrl` with the production entry point (`node dist/db/migrate.js`). */
export async function migrate (databaseUrl: string): Promise<void> {
  const { code, stdout, stderr } = await runScript(MIGRATE_JS, [], { cwd: API_ROOT, env: { NODE_ENV: 'test', LOG_LEVEL: 'warn', DATABASE_URL: databaseUrl } })
  const output = `${stdout}${stderr}`
  if (code !== 0) throw new Error(`migrations failed (exit ${code}):\n${output}${withBuildHint(output)}`)
}

/** Polls `probe` every `everyMs` until it returns true; the time it did, or null at `timeoutMs`. */
export async function waitFor (probe: () => Promise<boolean> | boolean, { timeoutMs, everyMs = 50 }: { timeoutMs: number, everyMs?: number }): Promise<number | null> {
  const deadline = performance.now() + timeoutMs
  while (performance.now() < deadline) {
    if (await probe()) return performance.now()
    await sleep(everyMs)
  }
  return null
}
