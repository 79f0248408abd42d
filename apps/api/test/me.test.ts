import t from 'tap'
import { ensureProfile, handleFor } from '../src/routes/me/repository.js'
import { authHeaders } from './helpers/auth.js'
import { build, databaseEnv, inspectDatabase } from './helpers/build.js'

t.test('a handle taken by someone else moves the newcomer to the next candidate', async (t) => {
  const env = await databaseEnv(t, 'handles')
  const app = await build(t, env)
  const db = inspectDatabase(t, env.DATABASE_URL)
  const userId = 'user_2abcCollides'
  await db.insertInto('user_profiles').values({ clerk_user_id: 'user_2abcSquatter', handle: handleFor(userId, 0), display_name: 'Squatter' }).execute()
  const response = await app.inject({ url: '/v1/me', headers: authHeaders(userId) })
  t.equal(response.statusCode, 200)
  t.equal(response.json().handle, handleFor(userId, 1))
  t.not(handleFor(userId, 0), handleFor(userId, 1))
})

t.test('ensureProfile: display names come from the token\'s name or username, cleaned; five taken handles is an error', async (t) => {
  const env = await databaseEnv(t, 'profiles')
  await build(t, env)
  const db = inspectDatabase(t, env.DATABASE_URL)
  const auth = (userId: string, claims: Record<string, unknown>) => ({ userId, sessionId: 'sess', claims })
  const named = await ensureProfile(db, auth('user_named', { name: '  Ada\u0000 Lovelace  ' }))
  t.equal(named.profile.display_name, 'Ada Lovelace')
  t.equal(named.created, true)
  t.equal((await ensureProfile(db, auth('user_named', {}))).created, false)
  t.equal((await ensureProfile(db, auth('user_username', { username: 'ada' }))).profile.display_name, 'ada')
  t.equal((await ensureProfile(db, auth('user_long', { name: 'n'.repeat(300) }))).profile.display_name, 'n'.repeat(100))
  const blank = await ensureProfile(db, auth('user_blank', { name: '   ', username: 7 }))
  t.equal(blank.profile.display_name, blank.profile.handle)

  for (let attempt = 0; attempt < 5; attempt++) {
    await db.insertInto('user_profiles').values({ clerk_user_id: `user_squatter_${attempt}`, handle: handleFor('user_unlucky', attempt), display_name: 'x' }).execute()
  }
  await t.rejects(ensureProfile(db, auth('user_unlucky', {})), { message: 'no free handle for this user' })
})
