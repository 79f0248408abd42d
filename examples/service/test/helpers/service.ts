import { spawn } from 'node:child_process'
import { once } from 'node:events'
import { createInterface } from 'node:readline'

const SERVER = new URL('../../src/server.js', import.meta.url).pathname

export interface Service {
  url: string
  /** Log lines the service wrote, parsed. */
  logs: Array<Record<string, unknown>>
  stop (): Promise<number | null>
}

/** Starts `node dist/src/server.js` with exactly `env` (plus PATH) and waits until it listens. */
export async function startService (env: Record<string, string>): Promise<Service> {
  const child = spawn(process.execPath, [SERVER], { env: { PATH: process.env.PATH ?? '', ...env }, stdio: ['ignore', 'pipe', 'pipe'] })
  const logs: Array<Record<string, unknown>> = []
  let stderr = ''
  child.stderr.on('data', (chunk: Buffer) => { stderr += chunk.toString() })
  const listening = new Promise<string>((resolve, reject) => {
    createInterface({ input: child.stdout }).on('line', (line) => {
      let entry: Record<string, unknown>
      try {
        entry = JSON.parse(line) as Record<string, unknown>
      } catch {
        entry = { msg: line }
      }
      logs.push(entry)
      const address = /^Server listening at (http:\/\/127\.0\.0\.1:\d+)$/.exec(String(entry.msg))
      if (address?.[1] !== undefined) resolve(address[1])
    })
    child.once('exit', (code) => reject(new Error(`the service exited (${code}) before listening:\n${stderr}`)))
  })
  const timeout = setTimeout(() => child.kill('SIGKILL'), 30_000)
  try {
    const url = await listening
    return {
      url,
      logs,
      stop: async () => {
        const exited = once(child, 'exit')
        child.kill('SIGTERM')
        const [code] = await exited as [number | null]
        return code
      }
    }
  } finally {
    clearTimeout(timeout)
  }
}

/** Runs the service to its exit with exactly `env`; for configurations it must refuse. */
export async function runService (env: Record<string, string>): Promise<{ code: number | null, stdout: string, stderr: string }> {
  const child = spawn(process.execPath, [SERVER], { env: { PATH: process.env.PATH ?? '', ...env }, stdio: ['ignore', 'pipe', 'pipe'] })
  let stdout = ''
  let stderr = ''
  child.stdout.on('data', (chunk: Buffer) => { stdout += chunk.toString() })
  child.stderr.on('data', (chunk: Buffer) => { stderr += chunk.toString() })
  const timeout = setTimeout(() => child.kill('SIGKILL'), 30_000)
  const [code] = await once(child, 'exit') as [number | null]
  clearTimeout(timeout)
  return { code, stdout, stderr }
}
