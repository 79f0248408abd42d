import { randomBytes } from 'node:crypto'
import type pg from 'pg'

export interface SeededStory {
  id: string
  title: string
  updatedAt: Date
}

/**
 * A published story by the Clerk user `clerkUserId`, written straight into the (migrated)
 * database, so a test needs no request before the one it is about.
 */
export async function seedStory (client: pg.Client, clerkUserId: string, title = 'A story held under a lock'): Promise<SeededStory> {
  const handle = `author_${randomBytes(6).toString('hex')}`
  const profile = await client.query<{ id: string }>(
    'insert into user_profiles (clerk_user_id, handle, display_name) values ($1, $2, $3) returning id',
    [clerkUserId, handle, 'An author']
  )
  const story = await client.query<{ id: string, updated_at: Date }>(
    'insert into stories (author_id, title, published_at) values ($1, $2, now()) returning id, updated_at',
    [profile.rows[0]?.id, title]
  )
  const row = story.rows[0] as { id: string, updated_at: Date }
  return { id: row.id, title, updatedAt: row.updated_at }
}

/** The story's title and last update, as stored. */
export async function storedStory (client: pg.Client, id: string): Promise<{ title: string, updated_at: Date }> {
  const result = await client.query<{ title: string, updated_at: Date }>('select title, updated_at from stories where id = $1', [id])
  return result.rows[0] as { title: string, updated_at: Date }
}
