import { createHash } from 'node:crypto'
import type { Kysely } from 'kysely'
import type { Database } from '../../db/database.js'
import type { UserProfile } from '../../db/tables/user-profiles.table.js'
import type { AuthContext } from '@muejam/auth'

const BASE32 = 'abcdefghijklmnopqrstuvwxyz234567'

/**
 * A handle from a hash of the whole Clerk id: Clerk ids share their first characters
 * (`user_2ab…`), so a prefix would collide. Deterministic, so concurrent first sign-ins of
 * one user agree on it; `attempt` picks another should two users' hashes ever collide.
 */
export function handleFor (clerkUserId: string, attempt: number): string {
  const digest = createHash('sha256').update(`${attempt}:${clerkUserId}`).digest()
  let handle = 'reader_'
  for (let i = 0; i < 10; i++) handle += BASE32[(digest[i] as number) % 32]
  return handle
}

function displayNameOf (auth: AuthContext, fallback: string): string {
  const { name, username } = auth.claims
  const candidate = typeof name === 'string' ? name : typeof username === 'string' ? username : ''
  const cleaned = candidate.replaceAll('\u0000', '').trim().slice(0, 100)
  return cleaned === '' ? fallback : cleaned
}

export function findProfile (db: Kysely<Database>, clerkUserId: string): Promise<UserProfile | undefined> {
  return db.selectFrom('user_profiles').selectAll().where('clerk_user_id', '=', clerkUserId).executeTakeFirst()
}

const HANDLE_ATTEMPTS = 5

/**
 * The caller's profile, created on first use. Race-free: concurrent first calls all try
 * the same insert, `on conflict do nothing` lets one win and the others read its row.
 */
export async function ensureProfile (db: Kysely<Database>, auth: AuthContext): Promise<{ profile: UserProfile, created: boolean }> {
  for (let attempt = 0; attempt < HANDLE_ATTEMPTS; attempt++) {
    const handle = handleFor(auth.userId, attempt)
    const created = await db.insertInto('user_profiles')
      .values({ clerk_user_id: auth.userId, handle, display_name: displayNameOf(auth, handle) })
      .onConflict((conflict) => conflict.doNothing())
      .returningAll()
      .executeTakeFirst()
    if (created !== undefined) return { profile: created, created: true }
    const existing = await findProfile(db, auth.userId)
    if (existing !== undefined) return { profile: existing, created: false }
    // The handle belongs to someone else: try the next one.
  }
  throw new Error('no free handle for this user')
}
