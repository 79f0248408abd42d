import { spawn } from 'node:child_process'
import { once } from 'node:events'
import { fileURLToPath } from 'node:url'

interface Test {
  teardown(fn: () => unknown): void
}

/** The built server and scripts (`pnpm build`; `pnpm test` builds first). */
export const SERVER_JS = fileURLToPath(new URL('../../dist/server.js', import.meta.url))
export const TOKEN_JS = fileURLToPath(new URL('../../dist/token.js', import.meta.url))

export interface ServerProcessOptions {
  /** The whole environment of the process, on top of PATH and quiet, local defaults. */
  env: Record<string, string>
  /** Working directory (the development issuer keeps its keys under `<cwd>/.data/dev-keys`). */
  cwd?: string
  /** Longest wait for "Server listening", in ms. Default: 30000. */
  startTimeoutMs?: number
}

export interface ServerProcess {
  /** `http://127.0.0.1:<port>` as the server reported it. */
  url: string
  pid: number
  /** Every stdout line, parsed (pino JSON). */
  lines: Array<Record<string, unknown>>
  /** Everything written to stdout and stderr, as written. */
  output(): string
  /** Sends SIGTERM and resolves with the exit code. */
  stop(): Promise<number | null>
}

/**
 * Starts `node dist/server.js` as production runs it (configuration from env only), with
 * PORT=0 and the listening address read from its log, and kills it at teardown.
 */
export async function startServerProcess (t: Test, { env, cwd, startTimeoutMs = 30_000 }: ServerProcessOptions): Promise<ServerProcess> {
  const child = spawn(process.execPath, [SERVER_JS], {
    cwd,
    env: { PATH: process.env.PATH ?? '', NODE_ENV: 'test', HOST: '127.0.0.1', PORT: '0', LOG_LEVEL: 'info', ...env },
    stdio: ['ignore', 'pipe', 'pipe']
  })
  // 'close' rather than 'exit': every line the process wrote has been read by then.
  const exited = once(child, 'close').then(([code]) => code as number | null)
  let running = true
  exited.then(() => { running = false }, () => {})
  t.teardown(async () => {
    if (!running) return
    child.kill('SIGKILL')
    await exited
  })

  let raw = ''
  const lines: Array<Record<string, unknown>> = []
  child.stderr.setEncoding('utf8').on('data', (chunk: string) => { raw += chunk })
  const url = new Promise<string>((resolve, reject) => {
    let buffered = ''
    child.stdout.setEncoding('utf8').on('data', (chunk: string) => {
      raw += chunk
      buffered += chunk
      let newline
      while ((newline = buffered.indexOf('\n')) !== -1) {
        const text = buffered.slice(0, newline)
        buffered = buffered.slice(newline + 1)
        let line: Record<string, unknown>
        try {
          line = JSON.parse(text) as Record<string, unknown>
        } catch {
          line = { unparsed: text }
        }
        lines.push(line)
        const listening = /^Server listening at (http:\/\/127\.0\.0\.1:\d+)$/.exec(String(line.msg))
        if (listening?.[1] !== undefined) resolve(listening[1])
      }
    })
    exited.then((code) => reject(new Error(`the server exited (${code}) before listening:\n${raw}`)), reject)
    setTimeout(() => reject(new Error(`the server did not listen within ${startTimeoutMs} ms:\n${raw}`)), startTimeoutMs).unref()
  })
  return {
    url: await url,
    pid: child.pid as number,
    lines,
    output: () => raw,
    async stop () {
      if (running) child.kill('SIGTERM')
      return exited
    }
  }
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
