import type { FastifyInstance } from 'fastify'
import type { Kysely } from 'kysely'
import type { Database } from '../../src/db/database.js'
import { authHeaders } from './auth.js'

export interface StoryBody {
  id: string
  title: string
  description: string | null
  status: 'draft' | 'published'
  published_at: string | null
  created_at: string
  updated_at: string
  author: { id: string, handle: string, display_name: string }
  chapters?: Array<{ id: string, position: number, title: string, content: string }>
}

/** Creates a story through the API as `userId`, failing the test on anything but 201. */
export async function createStory (app: FastifyInstance, userId: string, body: Record<string, unknown>): Promise<StoryBody> {
  const response = await app.inject({ method: 'POST', url: '/v1/stories', headers: authHeaders(userId), body })
  if (response.statusCode !== 201) throw new Error(`story creation answered ${response.statusCode}: ${response.body}`)
  return response.json() as StoryBody
}

/** Row counts of every table, to show a refused request changed nothing. */
export async function rowCounts (db: Kysely<Database>): Promise<Record<string, number>> {
  const counts: Record<string, number> = {}
  for (const table of ['user_profiles', 'stories', 'chapters', 'moderator_roles'] as const) {
    const row = await db.selectFrom(table).select((eb) => eb.fn.countAll<string>().as('n')).executeTakeFirstOrThrow()
    counts[table] = Number(row.n)
  }
  return counts
}
