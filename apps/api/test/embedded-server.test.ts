import { spawn } from 'node:child_process'
import { once } from 'node:events'
import { mkdtemp, readFile, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import dbPool from '@muejam/db-pool'
import Fastify from 'fastify'
import { sql } from 'kysely'
import t from 'tap'

t.setTimeout(180_000)

const serverScript = fileURLToPath(new URL('../dist/server.js', import.meta.url))

const MB = 1024 * 1024
// `pnpm start` on PGlite idled at 865 MB resident after a first start and about 370 MB after a
// restart, before db-pool's embedded defaults: 16MB of shared buffers, initdb in a child
// process, WebAssembly on V8's baseline compiler. Now at about 185 MB.
const IDLE_RESIDENT_LIMIT = 300 * MB

interface Started {
  url: string
  pid: number
  logs: Array<Record<string, unknown>>
  stop(): Promise<number | null>
}

/** `node --liftoff-only dist/server.js` with no DATABASE_URL, as `pnpm start` runs it. */
async function startServer (dataDir: string): Promise<Started> {
  const env: Record<string, string | undefined> = { ...process.env, DATABASE_EMBEDDED_DIR: dataDir, PORT: '0', LOG_LEVEL: 'info', NODE_ENV: 'development' }
  delete env.DATABASE_URL
  // Nor with the test runner's instrumentation, which holds memory of its own: tap puts its
  // loader in NODE_OPTIONS of every process it sees spawned, so env(1) takes it out again.
  const child = spawn('env', ['-u', 'NODE_OPTIONS', '-u', 'NODE_V8_COVERAGE', process.execPath, '--liftoff-only', serverScript], { env, stdio: ['ignore', 'pipe', 'pipe'] })
  const exited = once(child, 'exit').then(([code]) => code as number | null)
  const logs: Array<Record<string, unknown>> = []
  let errors = ''
  child.stderr.setEncoding('utf8').on('data', (chunk: string) => { errors += chunk })
  const url = await new Promise<string>((resolve, reject) => {
    let buffered = ''
    child.stdout.setEncoding('utf8').on('data', (chunk: string) => {
      buffered += chunk
      let newline
      while ((newline = buffered.indexOf('\n')) !== -1) {
        const line = JSON.parse(buffered.slice(0, newline)) as Record<string, unknown>
        buffered = buffered.slice(newline + 1)
        logs.push(line)
        const listening = /^Server listening at (http:\/\/127\.0\.0\.1:\d+)$/.exec(String(line.msg))
        if (listening?.[1] !== undefined) resolve(listening[1])
      }
    })
    exited.then((code) => reject(new Error(`the server exited (${code}) before listening: ${errors}`)), reject)
  })
  return {
    url,
    pid: child.pid as number,
    logs,
    async stop () {
      child.kill('SIGTERM')
      return exited
    }
  }
}

/** The most the process holds resident over a few seconds of idling, in bytes. */
async function idleResidentMemory (pid: number): Promise<number> {
  let most = 0
  for (let sample = 0; sample < 6; sample++) {
    await new Promise((resolve) => setTimeout(resolve, 500))
    const status = await readFile(`/proc/${pid}/status`, 'utf8')
    most = Math.max(most, Number(/^VmRSS:\s+(\d+) kB$/m.exec(status)?.[1]) * 1024)
  }
  return most
}

t.test('with no DATABASE_URL the server migrates an embedded database, serves the API, keeps its data across a restart and idles under 300 MB resident', async (t) => {
  const root = await mkdtemp(join(tmpdir(), 'muejam-embedded-'))
  t.teardown(() => rm(root, { recursive: true, force: true }))
  const dataDir = join(root, 'pglite')

  const first = await startServer(dataDir)
  t.teardown(() => first.stop())
  const empty = await fetch(`${first.url}/v1/stories`)
  t.equal(empty.status, 200)
  t.same(await empty.json(), { items: [], next_cursor: null })
  t.ok(first.logs.some((line) => line.migration === '20261127120000_initial_schema' && line.status === 'Success'), 'migrated on start')
  const firstIdle = await idleResidentMemory(first.pid)
  t.ok(firstIdle < IDLE_RESIDENT_LIMIT, `idle after creating and migrating its database: ${Math.round(firstIdle / MB)} MB resident, under 300 MB`)
  t.equal(await first.stop(), 0, 'a clean shutdown')

  // Data written to the directory in between, by another process.
  const writer = Fastify()
  await writer.register(dbPool, { embedded: { dataDir } })
  const profile = await writer.db.insertInto('user_profiles').values({ clerk_user_id: 'user_2abcEmbedded', handle: 'reader_embedded', display_name: 'Embedded' }).returning('id').executeTakeFirstOrThrow()
  await writer.db.insertInto('stories').values({ author_id: profile.id, title: 'Survives restarts', published_at: sql<Date>`now()` }).execute()
  await writer.close()

  const second = await startServer(dataDir)
  t.teardown(() => second.stop())
  const listed = await fetch(`${second.url}/v1/stories`)
  t.equal(listed.status, 200)
  const body = await listed.json() as { items: Array<{ title: string, author: { handle: string } }> }
  t.match(body.items, [{ title: 'Survives restarts', author: { handle: 'reader_embedded' } }])
  t.notOk(second.logs.some((line) => line.migration !== undefined), 'nothing left to migrate')
  const secondIdle = await idleResidentMemory(second.pid)
  t.ok(secondIdle < IDLE_RESIDENT_LIMIT, `idle after a restart: ${Math.round(secondIdle / MB)} MB resident, under 300 MB`)
  t.equal(await second.stop(), 0)
})
