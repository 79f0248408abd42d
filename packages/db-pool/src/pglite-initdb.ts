import { spawn } from 'node:child_process'
import { once } from 'node:events'
import { BASELINE_WASM_FLAG } from './wasm-compiler.js'

export interface InitdbRun {
  /** URL of the PGlite module, resolved by the caller (the child has no package of its own to resolve from). */
  moduleUrl: string
  dataDir: string
  /** Compile with V8's baseline compiler only, as the server will. */
  baselineWasm: boolean
}

// Opening a PGlite database on an empty directory runs initdb, then starts the server once
// with PGlite's own settings: the caller's settings are reported by its own start.
const CHILD_SCRIPT = `
const { moduleUrl, dataDir } = JSON.parse(process.env.MUEJAM_PGLITE_INITDB)
const { PGlite } = await import(moduleUrl)
const db = new PGlite(dataDir)
await db.waitReady
await db.close()
`

const STDERR_KEPT = 4096

/**
 * Creates a PGlite data directory in a child process. initdb runs a second WASM PostgreSQL
 * and its own WASM program: in-process, that is about 450 MB of heap that V8 hands back
 * late or never, for a server that then idles at a fraction of it. A child returns all of
 * it to the system when it exits.
 */
export async function initdbInChildProcess (run: InitdbRun): Promise<void> {
  // On the command line: Node.js 24's V8 ignores the flag once started.
  const flags = run.baselineWasm ? [BASELINE_WASM_FLAG] : []
  const child = spawn(process.execPath, [...flags, '--input-type=module', '--eval', CHILD_SCRIPT], {
    env: { ...process.env, MUEJAM_PGLITE_INITDB: JSON.stringify({ moduleUrl: run.moduleUrl, dataDir: run.dataDir }) },
    stdio: ['ignore', 'ignore', 'pipe']
  })
  let stderr = ''
  child.stderr.setEncoding('utf8').on('data', (chunk: string) => {
    if (stderr.length < STDERR_KEPT) stderr += chunk
  })
  const [code, signal] = await once(child, 'close') as [number | null, NodeJS.Signals | null]
  if (code !== 0) {
    const how = signal === null ? `exited with ${code}` : `was killed by ${signal}`
    const said = stderr.slice(0, STDERR_KEPT).trim()
    throw new Error(`initdb of the embedded database in ${run.dataDir} ${how}${said === '' ? '' : `: ${said}`}`)
  }
}
