import { setTimeout as sleep } from 'node:timers/promises'
import { connectAdmin, createTestDatabase } from '@muejam/testing/database'
import type { FastifyInstance } from 'fastify'
import type { Kysely } from 'kysely'
import t from 'tap'
import type { Database } from '../src/db/database.js'
import { ModeratorLookup } from '../src/moderators.js'
import { RATE_LIMIT_STORE_TIMEOUT_MS } from '../src/plugin-options.js'
import { migrate, waitFor } from './helpers/api-process.js'
import { authHeaders } from './helpers/auth.js'
import { build, databaseEnv, inspectDatabase } from './helpers/build.js'
import { createStory, rowCounts } from './helpers/stories.js'

interface Test {
  teardown(fn: () => unknown): void
}

async function makeModerator (db: Kysely<Database>, clerkUserId: string, active = true) {
  const profile = await db.insertInto('user_profiles').values({ clerk_user_id: clerkUserId, handle: `reader_${clerkUserId.slice(-6).toLowerCase()}`, display_name: 'M' })
    .returning('id').executeTakeFirstOrThrow()
  await db.insertInto('moderator_roles').values({ user_id: profile.id, role: 'moderator', is_active: active }).execute()
}

async function setRole (db: Kysely<Database>, clerkUserId: string, active: boolean) {
  const profile = await db.selectFrom('user_profiles').select('id').where('clerk_user_id', '=', clerkUserId).executeTakeFirstOrThrow()
  await db.updateTable('moderator_roles').set({ is_active: active }).where('user_id', '=', profile.id).execute()
}

/**
 * Holds an exclusive lock on `moderator_roles` in `url` until the returned release is called
 * (or `holdMs` passes, or the test ends): every read of the table waits, like a replica that
 * has stopped answering.
 */
async function lockModeratorRoles (t: Test, url: string, holdMs: number): Promise<() => Promise<void>> {
  const client = await connectAdmin(url)
  await client.query('begin')
  await client.query('lock table moderator_roles in access exclusive mode')
  let released: Promise<void> | undefined
  const release = () => {
    released ??= client.query('commit').then(() => client.end())
    return released
  }
  const safety = setTimeout(release, holdMs)
  t.teardown(() => {
    clearTimeout(safety)
    return release()
  })
  return release
}

/** Backends of the database in `url` waiting for a lock now: the blocked lookups. */
async function waitingOnLocks (t: Test, url: string): Promise<number> {
  const admin = await connectAdmin()
  t.teardown(() => admin.end())
  const database = decodeURIComponent(new URL(url).pathname.slice(1))
  const { rows } = await admin.query<{ n: number }>(
    'select count(*)::int as n from pg_stat_activity where datname = $1 and wait_event_type = \'Lock\'', [database])
  return rows[0]?.n ?? 0
}

/** Everything a delete could change: every story row, and the row count of every table. */
async function snapshot (db: Kysely<Database>) {
  return {
    counts: await rowCounts(db),
    stories: await db.selectFrom('stories').select(['id', 'title', 'deleted_at', 'updated_at']).orderBy('id').execute()
  }
}

const deleteAs = (app: FastifyInstance, userId: string, storyId: string) =>
  app.inject({ method: 'DELETE', url: `/v1/stories/${storyId}`, headers: authHeaders(userId) })

t.test('the exemption cache asks the database at most once per TTL per user, bounded in size', async (t) => {
  const env = await databaseEnv(t, 'moderators')
  const app = await build(t, env)
  const db = inspectDatabase(t, env.DATABASE_URL)
  await makeModerator(db, 'user_mod_active')
  await makeModerator(db, 'user_mod_revoked', false)
  // Long enough that a loaded machine answers within it: this test is about the cache.
  const waitMs = 10_000

  const lookup = new ModeratorLookup((signal) => app.dbPool.readerFor(signal), { ttlMs: 300, maxEntries: 2 })
  const answers = await Promise.all(Array.from({ length: 10 }, () => lookup.isExempt('user_mod_active', waitMs)))
  t.same([...new Set(answers)], [true])
  t.equal(lookup.lookups, 1, 'concurrent askers share one query')
  t.equal(lookup.isExempt('user_mod_active', waitMs), true, 'a known answer comes at once, not as a promise')
  t.equal(lookup.lookups, 1, 'cached')
  t.equal(await lookup.isExempt('user_mod_revoked', waitMs), false, 'an inactive role does not count')
  t.equal(await lookup.isExempt('user_nobody', waitMs), false, 'no role at all')
  t.equal(lookup.lookups, 3)
  t.equal(lookup.isExempt('user_mod_revoked', waitMs), false)
  t.equal(lookup.lookups, 3, 'still remembered')
  t.equal(await lookup.isExempt('user_mod_active', waitMs), true)
  t.equal(lookup.lookups, 4, 'the least recently asked was forgotten when a third user came')

  await sleep(350)
  t.equal(await lookup.isExempt('user_mod_revoked', waitMs), false)
  t.equal(lookup.lookups, 5, 'asked again once the answer expired')
})

t.test('a lookup slower than the wait answers "not exempt" when the wait ends; later askers do not wait again, and the late answer fills the cache', async (t) => {
  const env = await databaseEnv(t, 'moderators_slow_lookup')
  const app = await build(t, env)
  const db = inspectDatabase(t, env.DATABASE_URL)
  await makeModerator(db, 'user_mod_slow')
  const waitMs = RATE_LIMIT_STORE_TIMEOUT_MS
  const lookup = new ModeratorLookup((signal) => app.dbPool.readerFor(signal))

  const release = await lockModeratorRoles(t, env.DATABASE_URL, 30_000)
  const started = performance.now()
  const first = await lookup.isExempt('user_mod_slow', waitMs)
  const waited = performance.now() - started
  t.equal(first, false, 'still unanswered when the wait ended: not exempt')
  t.ok(waited >= waitMs - 1, `the wait lasted the budget (${waited.toFixed(0)} ms of ${waitMs} ms)`)
  t.equal(await waitingOnLocks(t, env.DATABASE_URL), 1, 'the lookup itself still runs')
  t.equal(lookup.isExempt('user_mod_slow', waitMs), false, 'a later asker gets "not exempt" at once: the lookup already had its budget')
  t.equal(lookup.lookups, 1, 'and no second query')

  await release()
  t.not(await waitFor(() => lookup.isExempt('user_mod_slow', waitMs) === true, { timeoutMs: 10_000, everyMs: 10 }), null,
    'once the database answers, the lookup that outlived its wait fills the cache')
  t.equal(lookup.lookups, 1)
})

t.test('a failed lookup is remembered as "not exempt" for failureTtlMs, then asked again', async (t) => {
  const env = await databaseEnv(t, 'moderators_failed_lookup')
  const app = await build(t, env)
  const db = inspectDatabase(t, env.DATABASE_URL)
  await makeModerator(db, 'user_mod_failing')
  const failureTtlMs = 1000
  const lookup = new ModeratorLookup((signal) => app.dbPool.readerFor(signal), { queryTimeoutMs: 200, failureTtlMs })

  const release = await lockModeratorRoles(t, env.DATABASE_URL, 30_000)
  await t.rejects(Promise.resolve(lookup.isExempt('user_mod_failing', 10_000)), { code: 'query_cancelled' },
    'the lookup is cancelled after queryTimeoutMs, and the asker still waiting is told why')
  const failedAt = performance.now()
  t.equal(lookup.failures, 1)
  await release()
  t.equal(await waitingOnLocks(t, env.DATABASE_URL), 0, 'the cancelled query is gone from the database')

  t.equal(lookup.isExempt('user_mod_failing', 10_000), false, 'the failure is remembered: "not exempt" at once…')
  t.equal(lookup.lookups, 1, '…without asking the database, although it answers again')
  await sleep(failureTtlMs - (performance.now() - failedAt) + 50)
  t.equal(await lookup.isExempt('user_mod_failing', 10_000), true, 'asked again once failureTtlMs has passed')
  t.equal(lookup.lookups, 2)
  t.equal(lookup.failures, 1)
})

t.test('a read replica that stops answering holds no signed-in request past the rate limiter\'s store timeout: the moderator is limited until the lookup answers, then exempt', async (t) => {
  const env = await databaseEnv(t, 'moderators_slow_replica')
  const replica = await createTestDatabase(t, 'api_moderators_slow_replica_r')
  await migrate(replica.url)
  const moderator = 'user_2modSlowReplica'
  await makeModerator(inspectDatabase(t, replica.url), moderator)
  const app = await build(t, { ...env, DATABASE_REPLICA_URLS: replica.url })
  const warm = await app.inject({ url: '/v1/stories', headers: authHeaders('user_2modWarmUp') })
  t.equal(warm.statusCode, 200, 'pools connected and token keys loaded before the timed request')
  const lookupsBefore = app.moderators.lookups

  // Held far longer than the budget: without a bound, the request would wait for all of it.
  const holdMs = 30 * RATE_LIMIT_STORE_TIMEOUT_MS
  const release = await lockModeratorRoles(t, replica.url, holdMs)
  const started = performance.now()
  const slow = await app.inject({ url: '/v1/stories', headers: authHeaders(moderator) })
  const elapsed = performance.now() - started
  t.equal(slow.statusCode, 200)
  t.equal(await waitingOnLocks(t, replica.url), 1, 'answered while the lookup still waits on the replica')
  t.ok(elapsed < 5 * RATE_LIMIT_STORE_TIMEOUT_MS, `answered in ${elapsed.toFixed(0)} ms: the store timeout (${RATE_LIMIT_STORE_TIMEOUT_MS} ms) plus room, far from the ${holdMs} ms hold`)
  t.equal(slow.headers['x-ratelimit-limit'], '1000', 'counted like any signed-in user: not exempt while unknown')

  await release()
  t.not(await waitFor(async () => (await app.inject({ url: '/v1/stories', headers: authHeaders(moderator) })).headers['x-ratelimit-limit'] === undefined, { timeoutMs: 10_000 }), null,
    'exempt (no budget claimed) once the lookup has answered')
  t.equal(app.moderators.lookups - lookupsBefore, 1, 'one lookup served them all')
})

t.test('deleting someone else\'s story asks the primary at request time: a granted role works and a revoked one is refused on the very next request', async (t) => {
  const env = await databaseEnv(t, 'moderators_grant_revoke')
  const app = await build(t, env)
  const db = inspectDatabase(t, env.DATABASE_URL)
  const moderator = 'user_2modGrantRevoke'
  const [first, second, third] = await Promise.all(['One', 'Two', 'Three'].map((title) => createStory(app, 'user_2modVictim', { title, publish: true })))
  await makeModerator(db, moderator, false)

  let before = await snapshot(db)
  const notYet = await deleteAs(app, moderator, first?.id as string)
  t.equal(notYet.statusCode, 403, 'an inactive role deletes nothing')
  t.equal(notYet.json().code, 'forbidden')
  t.same(await snapshot(db), before, 'nothing changed')

  await setRole(db, moderator, true)
  const granted = await deleteAs(app, moderator, first?.id as string)
  t.equal(granted.statusCode, 204, 'granted: the very next request may delete')
  const deleted = await db.selectFrom('stories').select('deleted_at').where('id', '=', first?.id as string).executeTakeFirstOrThrow()
  t.ok(deleted.deleted_at instanceof Date)
  t.equal((await deleteAs(app, moderator, second?.id as string)).statusCode, 204)

  await setRole(db, moderator, false)
  before = await snapshot(db)
  const revoked = await deleteAs(app, moderator, third?.id as string)
  t.equal(revoked.statusCode, 403, 'revoked: the very next request is refused')
  t.equal(revoked.json().code, 'forbidden')
  t.same(await snapshot(db), before, 'nothing changed')
})

t.test('a read replica that still shows a revoked role grants nothing: authorisation reads the primary', async (t) => {
  const env = await databaseEnv(t, 'moderators_stale_replica')
  const replica = await createTestDatabase(t, 'api_moderators_stale_replica_r')
  await migrate(replica.url)
  const moderator = 'user_2modStaleReplica'
  await makeModerator(inspectDatabase(t, replica.url), moderator)
  const app = await build(t, { ...env, DATABASE_REPLICA_URLS: replica.url })
  const db = inspectDatabase(t, env.DATABASE_URL)
  const story = await createStory(app, 'user_2modStaleVictim', { title: 'Kept', publish: true })
  await makeModerator(db, moderator, false)

  const before = await snapshot(db)
  const refused = await deleteAs(app, moderator, story.id)
  t.equal(refused.statusCode, 403)
  t.equal(refused.json().code, 'forbidden')
  t.same(await snapshot(db), before, 'nothing changed')
})
