import { spawn } from 'node:child_process'
import { once } from 'node:events'
import { access, mkdtemp, rm } from 'node:fs/promises'
import { createRequire, syncBuiltinESMExports } from 'node:module'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import t from 'tap'
import { PGliteDatabase } from '../src/pglite-database.js'
import { initdbInChildProcess } from '../src/pglite-initdb.js'

t.setTimeout(120_000)

const MB = 1024 * 1024

/*
 * Measured in a plain Node process that loads the built plugin, as a server would: tap's
 * loader and V8 coverage (on in this process) change how WebAssembly is compiled and kept.
 * It runs with --liftoff-only on its command line, as the README asks: Node.js 24's V8 no
 * longer takes that flag once started.
 */
const MEASURE = `
import { readFile } from 'node:fs/promises'
import Fastify from 'fastify'
import { sql } from 'kysely'
import dbPool from ${JSON.stringify(new URL('../dist/index.js', import.meta.url).href)}
const memory = async () => {
  const status = await readFile('/proc/self/status', 'utf8')
  const kB = (field) => Number(status.split('\\n').find((line) => line.startsWith(field + ':')).slice(field.length + 1).trim().split(' ')[0]) * 1024
  return { rss: kB('VmRSS'), peak: kB('VmHWM') }
}
const before = await memory()
const app = Fastify({ pluginTimeout: 60_000 })
await app.register(dbPool, { embedded: { dataDir: process.env.DATA_DIR } })
await app.ready()
await sql\`create table kept (v text)\`.execute(app.db)
await sql\`insert into kept (v) select repeat('x', 200) from generate_series(1, 5000)\`.execute(app.db)
const after = await memory()
await app.close()
console.log(JSON.stringify({ before, after }))
`

interface Measured { before: { rss: number, peak: number }, after: { rss: number, peak: number } }

async function measureFirstStart (dataDir: string): Promise<Measured> {
  const env: NodeJS.ProcessEnv = { ...process.env, DATA_DIR: dataDir }
  delete env.NODE_OPTIONS
  delete env.NODE_V8_COVERAGE
  const child = spawn(process.execPath, ['--liftoff-only', '--input-type=module', '--eval', MEASURE], { env, cwd: fileURLToPath(new URL('..', import.meta.url)), stdio: ['ignore', 'pipe', 'inherit'] })
  let output = ''
  child.stdout.setEncoding('utf8').on('data', (chunk: string) => { output += chunk })
  const [code] = await once(child, 'close') as [number | null]
  if (code !== 0) throw new Error(`the measuring process exited with ${code}: ${output}`)
  return JSON.parse(output) as Measured
}

// With PGlite's defaults a process grew by about 600 MB (700 MB at its peak): initdb in the
// process, 128MB of shared buffers, TurboFan. Now by about 90 MB.
t.test('creating an on-disk database runs initdb in a child process: the server grows by the database alone', async (t) => {
  const root = await mkdtemp(join(tmpdir(), 'muejam-pglite-memory-'))
  t.teardown(() => rm(root, { recursive: true, force: true }))
  const dataDir = join(root, 'pglite')
  const { before, after } = await measureFirstStart(dataDir)
  t.comment(`Node.js ${process.version}: resident ${Math.round(before.rss / MB)} MB before, ${Math.round(after.rss / MB)} MB after; peak ${Math.round(after.peak / MB)} MB`)
  t.ok(after.rss - before.rss < 150 * MB, `resident memory grew by ${Math.round((after.rss - before.rss) / MB)} MB, less than 150 MB`)
  t.ok(after.peak - before.peak < 180 * MB, `peak resident memory grew by ${Math.round((after.peak - before.peak) / MB)} MB, less than 180 MB`)
  await access(join(dataDir, 'PG_VERSION'))
})

t.test('a failed initdb reports the child\'s exit and its stderr', async (t) => {
  const root = await mkdtemp(join(tmpdir(), 'muejam-pglite-initdb-'))
  t.teardown(() => rm(root, { recursive: true, force: true }))
  await t.rejects(initdbInChildProcess({ moduleUrl: 'data:text/javascript,throw new Error("no initdb here")', dataDir: root, baselineWasm: true }), {
    message: new RegExp(`^initdb of the embedded database in ${root} exited with 1: [^]*Error: no initdb here`)
  })
  await t.rejects(initdbInChildProcess({ moduleUrl: 'data:text/javascript,process.kill(process.pid, "SIGKILL")', dataDir: root, baselineWasm: false }), {
    message: `initdb of the embedded database in ${root} was killed by SIGKILL`
  })
})

t.test('PGlite\'s WebAssembly is compiled without tiering up unless embedded.wasmTierUp is true', async (t) => {
  // The plugin's named import of node:v8 follows the builtin's exports once they are synced.
  const v8 = createRequire(import.meta.url)('node:v8') as typeof import('node:v8')
  const setFlags = v8.setFlagsFromString
  const flags: string[] = []
  v8.setFlagsFromString = (flag: string) => { flags.push(flag) }
  syncBuiltinESMExports()
  t.teardown(() => {
    v8.setFlagsFromString = setFlags
    syncBuiltinESMExports()
  })
  // A module that is not installed: the flag is set before PGlite would load.
  const settings = { dataDir: 'memory://', settings: {}, connectTimeoutMs: 1000, retryAfterSeconds: 1, pgliteModule: '@electric-sql/not-installed' }
  await new PGliteDatabase(settings).ready.catch(() => {})
  t.same(flags, ['--liftoff-only'], 'by default')
  await new PGliteDatabase({ ...settings, wasmTierUp: false }).ready.catch(() => {})
  t.same(flags, ['--liftoff-only', '--liftoff-only'])
  await new PGliteDatabase({ ...settings, wasmTierUp: true }).ready.catch(() => {})
  t.same(flags, ['--liftoff-only', '--liftoff-only'], 'V8\'s flags are left alone with wasmTierUp: true')
})
