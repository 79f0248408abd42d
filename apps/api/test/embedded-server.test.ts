import { spawn } from 'node:child_process'
import { once } from 'node:events'
import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import dbPool from '@muejam/db-pool'
import Fastify from 'fastify'
import { sql } from 'kysely'
import t from 'tap'

t.setTimeout(180_000)

const serverScript = fileURLToPath(new URL('../dist/server.js', import.meta.url))

interface Started {
  url: string
  logs: Array<Record<string, unknown>>
  stop(): Promise<number | null>
}

/** `node dist/server.js` with no DATABASE_URL, as `pnpm start` runs it. */
async function startServer (dataDir: string): Promise<Started> {
  const env: Record<string, string | undefined> = { ...process.env, DATABASE_EMBEDDED_DIR: dataDir, PORT: '0', LOG_LEVEL: 'info', NODE_ENV: 'development' }
  delete env.DATABASE_URL
  const child = spawn(process.execPath, [serverScript], { env, stdio: ['ignore', 'pipe', 'pipe'] })
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
    logs,
    async stop () {
      child.kill('SIGTERM')
      return exited
    }
  }
}

t.test('with no DATABASE_URL the server migrates an embedded database, serves the API and keeps its data across a restart', async (t) => {
  const root = await mkdtemp(join(tmpdir(), 'muejam-embedded-'))
  t.teardown(() => rm(root, { recursive: true, force: true }))
  const dataDir = join(root, 'pglite')

  const first = await startServer(dataDir)
  t.teardown(() => first.stop())
  const empty = await fetch(`${first.url}/v1/stories`)
  t.equal(empty.status, 200)
  t.same(await empty.json(), { items: [], next_cursor: null })
  t.ok(first.logs.some((line) => line.migration === '20261127120000_initial_schema' && line.status === 'Success'), 'migrated on start')
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
  t.equal(await second.stop(), 0)
})
