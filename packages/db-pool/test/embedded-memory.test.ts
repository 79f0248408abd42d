import { access, mkdtemp, readFile, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import Fastify from 'fastify'
import { sql } from 'kysely'
import t from 'tap'
import dbPool from '../src/index.js'
import { initdbInChildProcess } from '../src/pglite-initdb.js'

t.setTimeout(120_000)

const MB = 1024 * 1024

/** Resident and peak resident memory of this process, in bytes. */
async function memory (): Promise<{ rss: number, peak: number }> {
  const status = await readFile('/proc/self/status', 'utf8')
  const kB = (field: string) => Number(new RegExp(`^${field}:\\s+(\\d+) kB$`, 'm').exec(status)?.[1]) * 1024
  return { rss: kB('VmRSS'), peak: kB('VmHWM') }
}

// In-process, initdb and PostgreSQL's default 128MB of shared buffers grow this process by
// about 750 MB (850 MB at its peak); the child process and the 16MB default leave about 150.
t.test('creating an on-disk database runs initdb in a child process: this one grows by the server alone', async (t) => {
  const root = await mkdtemp(join(tmpdir(), 'muejam-pglite-memory-'))
  t.teardown(() => rm(root, { recursive: true, force: true }))
  const dataDir = join(root, 'pglite')
  const before = await memory()
  // A first start takes seconds (initdb) on a busy machine: more than Fastify's 10 s for onReady.
  const app = Fastify({ pluginTimeout: 60_000 })
  t.teardown(() => app.close())
  await app.register(dbPool, { embedded: { dataDir } })
  await app.ready()
  await sql`create table kept (v text)`.execute(app.db)
  await sql`insert into kept (v) select repeat('x', 200) from generate_series(1, 5000)`.execute(app.db)
  const after = await memory()
  t.comment(`resident ${Math.round(before.rss / MB)} MB before, ${Math.round(after.rss / MB)} MB after; peak ${Math.round(after.peak / MB)} MB`)
  t.ok(after.rss - before.rss < 300 * MB, `resident memory grew by ${Math.round((after.rss - before.rss) / MB)} MB, less than 300 MB`)
  t.ok(after.peak - before.peak < 350 * MB, `peak resident memory grew by ${Math.round((after.peak - before.peak) / MB)} MB, less than 350 MB`)
  await access(join(dataDir, 'PG_VERSION'))
})

t.test('a failed initdb reports the child\'s exit and its stderr', async (t) => {
  const root = await mkdtemp(join(tmpdir(), 'muejam-pglite-initdb-'))
  t.teardown(() => rm(root, { recursive: true, force: true }))
  await t.rejects(initdbInChildProcess({ moduleUrl: 'data:text/javascript,throw new Error("no initdb here")', dataDir: root }), {
    message: new RegExp(`^initdb of the embedded database in ${root} exited with 1: [^]*Error: no initdb here`)
  })
})
