import { setTimeout as sleep } from 'node:timers/promises'
import type { Kysely } from 'kysely'
import t from 'tap'
import type { Database } from '../src/db/database.js'
import { ModeratorLookup } from '../src/moderators.js'
import { build, databaseEnv, inspectDatabase } from './helpers/build.js'

async function makeModerator (db: Kysely<Database>, clerkUserId: string, active = true) {
  const profile = await db.insertInto('user_profiles').values({ clerk_user_id: clerkUserId, handle: `reader_${clerkUserId.slice(-6).toLowerCase()}`, display_name: 'M' })
    .returning('id').executeTakeFirstOrThrow()
  await db.insertInto('moderator_roles').values({ user_id: profile.id, role: 'moderator', is_active: active }).execute()
}

t.test('the moderator lookup asks the database at most once per TTL per user, bounded in size', async (t) => {
  const env = await databaseEnv(t, 'moderators')
  await build(t, env)
  const db = inspectDatabase(t, env.DATABASE_URL)
  await makeModerator(db, 'user_mod_active')
  await makeModerator(db, 'user_mod_revoked', false)

  const lookup = new ModeratorLookup(() => db, { ttlMs: 300, maxEntries: 2 })
  const answers = await Promise.all(Array.from({ length: 10 }, () => lookup.isActive('user_mod_active')))
  t.same([...new Set(answers)], [true])
  t.equal(lookup.lookups, 1, 'concurrent askers share one query')
  t.equal(await lookup.isActive('user_mod_active'), true)
  t.equal(lookup.lookups, 1, 'cached')
  t.equal(await lookup.isActive('user_mod_revoked'), false, 'an inactive role does not count')
  t.equal(await lookup.isActive('user_nobody'), false, 'no role at all')
  t.equal(lookup.lookups, 3)
  t.equal(await lookup.isActive('user_mod_revoked'), false)
  t.equal(lookup.lookups, 3, 'still remembered')
  t.equal(await lookup.isActive('user_mod_active'), true)
  t.equal(lookup.lookups, 4, 'the least recently asked was forgotten when a third user came')

  await sleep(350)
  t.equal(await lookup.isActive('user_mod_revoked'), false)
  t.equal(lookup.lookups, 5, 'asked again once the answer expired')

  const failing = new ModeratorLookup(() => { throw new Error('database down') })
  await t.rejects(failing.isActive('user_x'), { message: 'database down' })
  await t.rejects(failing.isActive('user_x'))
  t.equal(failing.lookups, 2, 'a failure is not remembered')
})
