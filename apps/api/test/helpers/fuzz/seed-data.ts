import type { FastifyInstance } from 'fastify'
import type pg from 'pg'
import type { FuzzStory } from './cases.js'
import { fillPath, type Operation } from './openapi.js'
import { isUuidSchema, type KnownValues } from './schema-values.js'

/*
 * The data the fuzzer aims at, made through the API: every fuzz user signed in once (so a
 * valid token never creates a profile later), published stories and drafts with chapters,
 * a deleted story, a moderator, and a real page cursor.
 */

export interface SeededData {
  stories: FuzzStory[]
  /** A `next_cursor` the API signed for each paged route (`<path> cursor`). */
  known: KnownValues
}

async function call (app: FastifyInstance, authorization: string, method: 'GET' | 'POST' | 'DELETE', url: string, body?: object) {
  const response = await app.inject({ method, url, headers: { authorization }, ...(body === undefined ? {} : { body }) })
  if (response.statusCode >= 300) throw new Error(`seeding: ${method} ${url} answered ${response.statusCode}: ${response.body}`)
  return response.statusCode === 204 ? {} : response.json() as Record<string, unknown>
}

/** For each GET route with `cursor` and `limit`: the cursor of its first page of one item, about `storyId`. */
async function pageCursors (app: FastifyInstance, operations: readonly Operation[], storyId: string, authorization: string): Promise<KnownValues> {
  const known: KnownValues = {}
  for (const operation of operations) {
    const names = operation.parameters.filter((parameter) => parameter.in === 'query').map((parameter) => parameter.name)
    if (operation.method !== 'GET' || !names.includes('cursor') || !names.includes('limit')) continue
    const values = Object.fromEntries(operation.parameters.filter((parameter) => parameter.in === 'path')
      .map((parameter) => [parameter.name, isUuidSchema(parameter.schema) ? storyId : '1']))
    const page = await call(app, authorization, 'GET', `${fillPath(operation.path, values)}?limit=1`)
    if (typeof page.next_cursor === 'string') known[`${operation.path} cursor`] = [page.next_cursor]
  }
  return known
}

/**
 * `authorizations[i]` signs in fuzz user i; the last one is made a moderator. Each author but
 * the moderator gets two published stories (with none and two chapters) and a draft with a
 * chapter; the first also gets a story it then deletes.
 */
export async function seedData (app: FastifyInstance, client: pg.Client, authorizations: readonly string[], operations: readonly Operation[]): Promise<SeededData> {
  const stories: FuzzStory[] = []
  let chaptered: string | undefined
  for (const [user, authorization] of authorizations.entries()) {
    const profile = await call(app, authorization, 'GET', '/v1/me')
    if (user === authorizations.length - 1) {
      await client.query('insert into moderator_roles (user_id, role) values ($1, $2)', [profile.id, 'moderator'])
      continue
    }
    const create = async (body: object) => {
      const story = await call(app, authorization, 'POST', '/v1/stories', body)
      stories.push({ id: story.id as string, author: user })
      return story.id as string
    }
    await create({ title: `Published by ${user}`, publish: true })
    const withChapters = await create({
      title: `Published with chapters by ${user}`,
      description: 'Seeded for fuzzing',
      publish: true,
      chapters: [{ title: 'One', content: 'The first chapter.' }, { title: 'Two', content: 'The second chapter.' }]
    })
    chaptered ??= withChapters
    const draft = await create({ title: `Draft by ${user}` })
    await call(app, authorization, 'POST', `/v1/stories/${draft}/chapters`, { title: 'Draft chapter', content: 'Not yet public.' })
    if (user === 0) await call(app, authorization, 'DELETE', `/v1/stories/${await create({ title: 'Deleted', publish: true })}`)
  }
  return { stories, known: await pageCursors(app, operations, chaptered as string, authorizations[0] as string) }
}
