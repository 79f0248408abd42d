import { type ChildProcess, spawn } from 'node:child_process'
import { type Agent, type IncomingHttpHeaders, request as httpRequest } from 'node:http'
import { type AddressInfo, createServer } from 'node:net'
import { setTimeout as sleep } from 'node:timers/promises'
import { fileURLToPath } from 'node:url'
import { TEST_AUTH_ENV } from './auth.js'

/*
 * The production entry point (`node dist/server.js`, built by `pnpm build`) as a real
 * process on a port of its own, configured by environment variables only, for tests of
 * what only a real process shows: signals, exit codes, sockets, shutdown.
 */

interface Test {
  teardown(fn: () => unknown): void
}

const API_ROOT = fileURLToPath(new URL('../..', import.meta.url))
const SERVER_JS = fileURLToPath(new URL('../../dist/server.js', import.meta.url))
const BUILD_HINT = 'Build it first with: cd /work/main && pnpm build (pnpm test builds before testing).'

export async function freePort (): Promise<number> {
  const server = createServer()
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject)
    server.listen(0, '127.0.0.1', resolve)
  })
  const { port } = server.address() as AddressInfo
  await new Promise((resolve) => server.close(resolve))
  return port
}

export interface HttpResult {
  status: number
  headers: IncomingHttpHeaders
  body: string
  /** From sending the request to the response's last byte, in ms. */
  ms: number
  json<T = Record<string, unknown>>(): T
}

export interface HttpRequest {
  method?: string
  path: string
  headers?: Record<string, string>
  /** Sent as JSON. */
  body?: unknown
  /** A keep-alive agent to reuse connections; default: a fresh connection. */
  agent?: Agent
  /** Fails the request after this long without an answer, in ms. Default 10000. */
  timeoutMs?: number
}

/** One HTTP request to 127.0.0.1:`port` over a real socket. */
export function httpCall (port: number, { method = 'GET', path, headers = {}, body, agent, timeoutMs = 10_000 }: HttpRequest): Promise<HttpResult> {
  const payload = body === undefined ? undefined : JSON.stringify(body)
  const allHeaders: Record<string, string> = { ...headers }
  if (payload !== undefined) {
    allHeaders['content-type'] = 'application/json'
    allHeaders['content-length'] = String(Buffer.byteLength(payload))
  }
  const started = performance.now()
  return new Promise((resolve, reject) => {
    const outgoing = httpRequest({ host: '127.0.0.1', port, method, path, headers: allHeaders, agent: agent ?? false }, (incoming) => {
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
    outgoing.setTimeout(timeoutMs, () => outgoing.destroy(new Error(`${method} ${path}: no answer within ${timeoutMs} ms`)))
    outgoing.on('error', reject)
    outgoing.end(payload)
  })
}

export interface Exit {
  code: number | null
  signal: NodeJS.Signals | null
  /** When the process exited, `performance.now()`. */
  at: number
}

export interface SpawnedServer {
  readonly port: number
  readonly pid: number
  /** Everything the process wrote to stdout and stderr so far. */
  output(): string
  /** Its JSON log lines so far, parsed. */
  logs(): Array<Record<string, unknown>>
  request(options: HttpRequest | string): Promise<HttpResult>
  readonly exited: boolean
  /** Resolves when the process has exited. */
  exit(): Promise<Exit>
  /** Sends `signal` to the process; returns when it was sent, `performance.now()`. */
  signal(signal: NodeJS.Signals): number
}

class ExitedEarly extends Error {
  constructor (readonly output: string) {
    super(`the API exited before it answered /health/live. Output:\n${output}${/Cannot find module/.test(output) ? `\n${BUILD_HINT}` : ''}`)
  }
}

function spawnServer (port: number, env: Record<string, string>): { server: SpawnedServer, child: ChildProcess } {
  const child = spawn(process.execPath, [SERVER_JS], {
    cwd: API_ROOT,
    env: { PATH: process.env.PATH ?? '', NODE_ENV: 'test', HOST: '127.0.0.1', LOG_LEVEL: 'info', ...TEST_AUTH_ENV, ...env, PORT: String(port) },
    stdio: ['ignore', 'pipe', 'pipe']
  })
  let text = ''
  let exited = false
  child.stdout.setEncoding('utf8').on('data', (chunk: string) => { text += chunk })
  child.stderr.setEncoding('utf8').on('data', (chunk: string) => { text += chunk })
  const exit = new Promise<Exit>((resolve) => {
    child.on('exit', (code, signal) => {
      exited = true
      resolve({ code, signal, at: performance.now() })
    })
  })
  const server: SpawnedServer = {
    port,
    pid: child.pid ?? -1,
    output: () => text,
    logs: () => text.split('\n').filter((line) => line.startsWith('{')).flatMap((line) => {
      try {
        return [JSON.parse(line) as Record<string, unknown>]
      } catch {
        return []
      }
    }),
    request: (options) => httpCall(port, typeof options === 'string' ? { path: options } : options),
    get exited () { return exited },
    exit: () => exit,
    signal: (signal) => {
      child.kill(signal)
      return performance.now()
    }
  }
  return { server, child }
}

async function waitUntilLive (server: SpawnedServer, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs
  while (Date.now() < deadline) {
    if (server.exited) throw new ExitedEarly(server.output())
    try {
      if ((await server.request({ path: '/health/live', timeoutMs: 1000 })).status === 200) return
    } catch {
      // Not listening yet.
    }
    await sleep(50)
  }
  throw new Error(`the API on port ${server.port} did not answer /health/live within ${timeoutMs} ms. Output:\n${server.output()}`)
}

/**
 * Starts `node dist/server.js` with `env` (over quiet test defaults and the test issuer) on
 * a free port and waits until it is live. Killed at teardown if it is still running.
 */
export async function startServer (t: Test, env: Record<string, string>, { startTimeoutMs = 30_000 } = {}): Promise<SpawnedServer> {
  // A free port can be taken between the probe and the server's listen(): try another.
  for (let attempt = 1; ; attempt++) {
    const { server, child } = spawnServer(await freePort(), env)
    t.teardown(async () => {
      if (server.exited) return
      child.kill('SIGKILL')
      await server.exit()
    })
    try {
      await waitUntilLive(server, startTimeoutMs)
      return server
    } catch (error) {
      if (error instanceof ExitedEarly && /EADDRINUSE/.test(error.output) && attempt < 3) continue
      throw error
    }
  }
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
