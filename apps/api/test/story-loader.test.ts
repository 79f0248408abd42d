import { sql } from 'kysely'
import t from 'tap'
import type { Database } from '../src/db/database.js'
import { StoryLoader } from '../src/routes/stories/story-loader.js'
import { build, databaseEnv } from './helpers/build.js'
import { createStory } from './helpers/stories.js'
import type { Kysely } from 'kysely'

const MISSING = '00000000-0000-4000-8000-000000000000'

t.test('story reads by id share one query per event-loop turn', async (t) => {
  const app = await build(t, await databaseEnv(t, 'loader'))
  const a = await createStory(app, 'user_2abcLoaderA', { title: 'A', publish: true })
  const b = await createStory(app, 'user_2abcLoaderB', { title: 'B draft' })
  const gone = await createStory(app, 'user_2abcLoaderA', { title: 'Gone', publish: true })
  await app.db.updateTable('stories').set({ deleted_at: new Date() }).where('id', '=', gone.id).execute()

  const signals: AbortSignal[] = []
  const loader = new StoryLoader((signal) => { signals.push(signal); return app.dbPool.readerFor(signal) as unknown as Kysely<Database> })
  const live = new AbortController().signal
  const ids = Array.from({ length: 60 }, (_, i) => [a.id, b.id, gone.id, MISSING][i % 4] as string)
  const rows = await Promise.all(ids.map((id) => loader.load(id, live)))
  t.equal(signals.length, 1, '60 lookups, one query')
  t.same(rows.map((row) => row?.title), ids.map((id) => ({ [a.id]: 'A', [b.id]: 'B draft' })[id]), 'each lookup gets its own story; deleted and unknown ids get nothing')

  await loader.load(a.id, live)
  t.equal(signals.length, 2, 'a later turn runs a query of its own: no answer is older than its request')
})

t.test('an aborted waiter stops waiting; when every waiter has gone the query is cancelled', async (t) => {
  const app = await build(t, await databaseEnv(t, 'loader_abort'))
  const story = await createStory(app, 'user_2abcLoaderC', { title: 'C', publish: true })
  const signals: AbortSignal[] = []
  const loader = new StoryLoader((signal) => { signals.push(signal); return app.dbPool.readerFor(signal) as unknown as Kysely<Database> })

  const leaving = new AbortController()
  const staying = new AbortController()
  const left = loader.load(story.id, leaving.signal)
  const stayed = loader.load(story.id, staying.signal)
  leaving.abort(new Error('client went away'))
  await t.rejects(left, { statusCode: 499, code: 'query_cancelled' }, 'a client gone is not a server error')
  t.equal((await stayed)?.title, 'C', 'the others still get their answer')
  t.equal(signals[0]?.aborted, false, 'the shared query ran to the end')

  const one = new AbortController()
  const two = new AbortController()
  const both = [loader.load(story.id, one.signal), loader.load(MISSING, two.signal)]
  one.abort(new Error('gone'))
  two.abort(new Error('gone too'))
  await Promise.allSettled(both)
  t.equal(signals.length, 1, 'a batch whose waiters all left before it started runs no query')

  const deadline = Object.assign(new Error('deadline'), { statusCode: 504, code: 'request_timeout' })
  await t.rejects(loader.load(story.id, AbortSignal.abort(deadline)), { statusCode: 504, code: 'request_timeout' }, 'a deadline keeps its own answer')
})

t.test('a waiter whose request aborts while a quick read runs is answered 499 when the read ends; the query is not cancelled for the others', async (t) => {
  const app = await build(t, await databaseEnv(t, 'loader_quick_abort'))
  const story = await createStory(app, 'user_2abcLoaderQ', { title: 'Q', publish: true })
  const signals: AbortSignal[] = []
  const loader = new StoryLoader((signal) => { signals.push(signal); return app.dbPool.readerFor(signal) as unknown as Kysely<Database> })

  const leaving = new AbortController()
  const left = loader.load(story.id, leaving.signal)
  const stayed = loader.load(story.id, new AbortController().signal)
  // The loader's turn comes first: its query has started, with both waiters, when this one runs.
  await new Promise((resolve) => setImmediate(resolve))
  t.equal(signals.length, 1, 'the batch query is running')
  leaving.abort(new Error('client went away'))
  await t.rejects(left, { statusCode: 499, code: 'query_cancelled' })
  t.equal((await stayed)?.title, 'Q')
  t.equal(signals[0]?.aborted, false, 'the query ran to its end')
})

t.test('an id PostgreSQL refuses fails only its own waiters: 8 honest waiters of the same batch get their stories', async (t) => {
  const app = await build(t, await databaseEnv(t, 'loader_poison'))
  const stories = await Promise.all(Array.from({ length: 4 }, (_, n) => createStory(app, `user_2abcLoaderP${n}`, { title: `P${n}`, publish: true })))
  const signals: AbortSignal[] = []
  const loader = new StoryLoader((signal) => { signals.push(signal); return app.dbPool.readerFor(signal) as unknown as Kysely<Database> })
  const live = new AbortController().signal
  const honest = [...stories.map((story) => story.id), ...stories.map((story) => story.id.toUpperCase())]
  const poisoned = loader.load('urn:uuid:00000000-0000-0000-0000-000000000000', live)
  const results = await Promise.allSettled([...honest.map((id) => loader.load(id, live)), poisoned])
  t.same(results.slice(0, 8).map((result) => result.status === 'fulfilled' ? result.value?.title : 'rejected'), ['P0', 'P1', 'P2', 'P3', 'P0', 'P1', 'P2', 'P3'], 'every honest waiter gets its story')
  await t.rejects(poisoned, { code: '22P02' }, 'the waiter whose id PostgreSQL refused gets that refusal')
  t.equal(signals.length, 1 + 5, 'one batch, then one query per distinct id (ids in any case are one id) to tell the refused id apart')
})

t.test('a failure no id caused (the table is gone) rejects every waiter, with no query per id', async (t) => {
  const env = await databaseEnv(t, 'loader_error')
  const app = await build(t, env)
  const story = await createStory(app, 'user_2abcLoaderD', { title: 'D', publish: true })
  await sql`alter table stories rename to stories_elsewhere`.execute(app.db)
  const signals: AbortSignal[] = []
  const loader = new StoryLoader((signal) => { signals.push(signal); return app.dbPool.readerFor(signal) as unknown as Kysely<Database> })
  const live = new AbortController().signal
  const results = await Promise.allSettled([loader.load(story.id, live), loader.load(MISSING, live)])
  t.same(results.map((result) => result.status), ['rejected', 'rejected'])
  t.equal(signals.length, 1, 'an outage is not multiplied by retries')
})
