import { request as httpRequest } from 'node:http'
import type { AddressInfo } from 'node:net'
import { connectAdmin } from '@muejam/testing/database'
import type { Kysely } from 'kysely'
import t, { type Test } from 'tap'
import type { Database } from '../src/db/database.js'
import { StoryLoader } from '../src/routes/stories/story-loader.js'
import { waitFor } from './helpers/api-process.js'
import { build, databaseEnv } from './helpers/build.js'
import { type PgActivity, watchActivity } from './helpers/pg-activity.js'
import { createStory } from './helpers/stories.js'

/*
 * A batched story read that is already running in PostgreSQL (waiting on a table lock the
 * test holds) keeps running while any of its waiters remains, and is cancelled in the server
 * once every waiter has left: seen in pg_stat_activity while the lock is still held, so the
 * query cannot have ended any other way.
 */

const MISSING = '00000000-0000-4000-8000-000000000000'
// Waits for something that must happen; it never does when the behaviour is broken.
const EVENTUALLY = { timeoutMs: 10_000, everyMs: 20 }

/** Holds an ACCESS EXCLUSIVE lock on `stories` in a transaction of the test's own: every read of it waits. */
async function lockStories (t: Test, databaseUrl: string): Promise<{ release(): Promise<void> }> {
  const locker = await connectAdmin(databaseUrl)
  t.teardown(() => locker.end().catch(() => {}))
  await locker.query('begin')
  await locker.query('lock table stories in access exclusive mode')
  return { release: async () => { await locker.query('rollback') } }
}

const waitingOnLock = async (activity: PgActivity) => (await activity.apiBackends()).filter((backend) => backend.wait_event_type === 'Lock')

async function lockRequestsWaiting (activity: PgActivity): Promise<number> {
  const result = await activity.client.query<{ n: number }>('select count(*)::int as n from pg_locks l join pg_database d on d.oid = l.database where d.datname = current_database() and not l.granted')
  return result.rows[0]?.n ?? -1
}

t.test('a running batched read is cancelled in PostgreSQL once every waiter has left, and not before', async (t) => {
  const env = await databaseEnv(t, 'loader_cancel')
  const app = await build(t, env)
  const activity = await watchActivity(t, env.DATABASE_URL)
  const story = await createStory(app, 'user_2abcLoaderCancel', { title: 'Held', publish: true })
  const batches: AbortSignal[] = []
  const loader = new StoryLoader((signal) => { batches.push(signal); return app.dbPool.readerFor(signal) as unknown as Kysely<Database> })

  await t.test('one waiter leaving does not cancel the read for the others', async (t) => {
    const lock = await lockStories(t, env.DATABASE_URL)
    const leaving = new AbortController()
    const staying = new AbortController()
    const left = loader.load(story.id, leaving.signal)
    const stayed = loader.load(story.id, staying.signal)
    t.not(await waitFor(async () => (await waitingOnLock(activity)).length === 1, EVENTUALLY), null, 'the batch runs as one query, waiting on the lock inside PostgreSQL')

    leaving.abort(new Error('client went away'))
    await t.rejects(left, { statusCode: 499, code: 'query_cancelled' }, 'the waiter that left is answered at once')
    t.equal(batches.at(-1)?.aborted, false, 'the batch query is not aborted while a waiter remains')
    await lock.release()
    t.equal((await stayed)?.title, 'Held', 'the waiter that stayed gets the story once the lock is gone: its query ran on')
  })

  await t.test('the last waiter leaving cancels the query in PostgreSQL, and its connection serves the next read', async (t) => {
    const lock = await lockStories(t, env.DATABASE_URL)
    const waiters = [new AbortController(), new AbortController(), new AbortController()]
    const outcomes = waiters.map((waiter, i) => loader.load(i === 2 ? MISSING : story.id, waiter.signal).then(() => 'answered', (error: unknown) => error))
    t.not(await waitFor(async () => (await waitingOnLock(activity)).length === 1, EVENTUALLY), null, 'three lookups, one query, waiting on the lock inside PostgreSQL')
    const [running] = await waitingOnLock(activity)
    t.match(running?.query, /= any\(\$1::uuid\[\]\)/, 'the waiting query is the batch read')

    for (const waiter of waiters.slice(0, 2)) waiter.abort(new Error('client went away'))
    t.equal(batches.at(-1)?.aborted, false, 'with one waiter left the query is not aborted')
    waiters[2]?.abort(new Error('client went away'))
    t.match(await Promise.all(outcomes), Array(3).fill({ statusCode: 499, code: 'query_cancelled' }), 'every waiter that left is answered 499')

    t.not(await waitFor(async () => (await activity.apiBackends()).every((backend) => backend.state !== 'active'), EVENTUALLY), null,
      'the query is gone from pg_stat_activity while the test still holds the lock: it was cancelled')
    t.equal(await lockRequestsWaiting(activity), 0, 'no lock request is left waiting')

    await lock.release()
    t.equal((await loader.load(story.id, new AbortController().signal))?.title, 'Held', 'the next read succeeds')
    t.ok((await activity.apiBackends()).some((backend) => backend.pid === running?.pid), 'the cancelled query\'s connection is still open in the pool')
  })
})

t.test('a client that hangs up on GET /v1/stories/:id gets its read cancelled in PostgreSQL', async (t) => {
  const env = await databaseEnv(t, 'loader_hang_up')
  const app = await build(t, env)
  const activity = await watchActivity(t, env.DATABASE_URL)
  const story = await createStory(app, 'user_2abcLoaderHangUp', { title: 'Abandoned', publish: true })
  await app.listen({ host: '127.0.0.1', port: 0 })
  const { port } = app.server.address() as AddressInfo

  const lock = await lockStories(t, env.DATABASE_URL)
  const outgoing = httpRequest({ host: '127.0.0.1', port, path: `/v1/stories/${story.id}`, agent: false })
  const answered: string[] = []
  outgoing.on('response', (response) => { answered.push(String(response.statusCode)) })
  outgoing.on('error', () => {})
  outgoing.end()
  t.not(await waitFor(async () => (await waitingOnLock(activity)).length === 1, EVENTUALLY), null, 'the read waits on the lock inside PostgreSQL')

  outgoing.destroy()
  t.not(await waitFor(async () => (await activity.apiBackends()).every((backend) => backend.state !== 'active'), EVENTUALLY), null,
    'once the client has gone, the read is gone from pg_stat_activity while the lock is still held')
  t.equal(await lockRequestsWaiting(activity), 0, 'no lock request is left waiting')
  t.same(answered, [], 'nothing was answered to the client that left')

  await lock.release()
  const again = await app.inject(`/v1/stories/${story.id}`)
  t.equal(again.statusCode, 200, 'the next reader is served')
  t.equal(again.json().title, 'Abandoned')
})
