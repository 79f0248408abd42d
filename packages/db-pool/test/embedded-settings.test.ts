import { sql } from 'kysely'
import t from 'tap'
import { EMBEDDED_DEFAULT_SETTINGS } from '../src/index.js'
import { resolveOptions } from '../src/options.js'
import { PGliteDatabase } from '../src/pglite-database.js'
import { buildApp } from './helpers/setup.js'

t.setTimeout(120_000)

async function shown (app: Awaited<ReturnType<typeof buildApp>>, name: string): Promise<string> {
  const { rows } = await sql<{ setting: string }>`select current_setting(${name}) as setting`.execute(app.db)
  return rows[0]?.setting as string
}

t.test('the embedded database runs with 16MB of shared buffers unless told otherwise', async (t) => {
  t.same(EMBEDDED_DEFAULT_SETTINGS, { shared_buffers: '16MB' })
  t.same(resolveOptions({ embedded: { dataDir: 'memory://' } }).embedded, { dataDir: 'memory://', settings: { shared_buffers: '16MB' }, wasmTierUp: false })
  const app = await buildApp(t, { embedded: { dataDir: 'memory://' } })
  t.equal(await shown(app, 'shared_buffers'), '16MB')
  t.equal(await shown(app, 'search_path'), 'public', "PGlite's own start parameters are kept")
})

t.test('embedded.settings override the defaults and add settings, numbers in the setting\'s unit', async (t) => {
  t.same(resolveOptions({ embedded: { dataDir: 'memory://', settings: { shared_buffers: '8MB', work_mem: 2048 } } }).embedded?.settings,
    { shared_buffers: '8MB', work_mem: '2048' })
  const app = await buildApp(t, { embedded: { dataDir: 'memory://', settings: { shared_buffers: '8MB', work_mem: 2048, 'muejam.note': 'a b, c' } } })
  t.equal(await shown(app, 'shared_buffers'), '8MB')
  t.equal(await shown(app, 'work_mem'), '2MB')
  t.equal(await shown(app, 'muejam.note'), 'a b, c', 'a value is one argument, spaces and commas included')
})

t.test('a setting PostgreSQL refuses fails ready() with PostgreSQL\'s reason', async (t) => {
  const refused = new PGliteDatabase({ dataDir: 'memory://', settings: { shared_buffers: 'plenty' }, connectTimeoutMs: 1000, retryAfterSeconds: 1 })
  await t.rejects(refused.ready, { message: 'the embedded database did not start: FATAL:  invalid value for parameter "shared_buffers": "plenty"' })
  const unknown = new PGliteDatabase({ dataDir: 'memory://', settings: { shared_bufers: '8MB' }, connectTimeoutMs: 1000, retryAfterSeconds: 1 })
  await t.rejects(unknown.ready, { message: 'the embedded database did not start: FATAL:  unrecognized configuration parameter "shared_bufers"' })
  await t.rejects(unknown.acquire(null), { message: /did not start/ }, 'a query is refused with the same error')
})

t.test('a start that fails without a word from PostgreSQL fails ready() with PGlite\'s own error', async (t) => {
  const failing = 'data:text/javascript,export class PGlite { static defaultStartParams = []; waitReady = Promise.reject(new Error("no WebAssembly here")) }'
  const database = new PGliteDatabase({ dataDir: 'memory://', settings: {}, connectTimeoutMs: 1000, retryAfterSeconds: 1, pgliteModule: failing })
  await t.rejects(database.ready, { message: 'no WebAssembly here' })
})
