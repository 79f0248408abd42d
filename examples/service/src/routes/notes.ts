import type { FastifyInstance } from 'fastify'
import { NoteNotFoundError } from '../problem.js'

const noteSchema = {
  type: 'object',
  properties: {
    id: { type: 'integer' },
    body: { type: 'string' },
    created_at: { type: 'string', format: 'date-time' }
  }
} as const

/** The caller's notes: each signed-in user (the token's `sub`) sees only their own. */
export async function noteRoutes (app: FastifyInstance) {
  app.post<{ Body: { body: string } }>('/notes', {
    config: { auth: 'required', transaction: true },
    schema: {
      body: {
        type: 'object',
        required: ['body'],
        additionalProperties: false,
        properties: { body: { type: 'string', minLength: 1, maxLength: 2000 } }
      },
      response: { 201: noteSchema }
    }
  }, async (request, reply) => {
    const note = await request.db.insertInto('notes')
      .values({ owner: request.auth!.userId, body: request.body.body })
      .returning(['id', 'body', 'created_at'])
      .executeTakeFirstOrThrow()
    reply.code(201)
    return note
  })

  app.get('/notes', {
    config: { auth: 'required' },
    schema: { response: { 200: { type: 'array', items: noteSchema } } }
  }, async (request) => {
    return request.dbRead.selectFrom('notes')
      .select(['id', 'body', 'created_at'])
      .where('owner', '=', request.auth!.userId)
      .orderBy('id', 'desc')
      .limit(100)
      .execute()
  })

  app.get<{ Params: { id: number } }>('/notes/:id', {
    config: { auth: 'required' },
    schema: {
      params: { type: 'object', properties: { id: { type: 'integer', minimum: 1 } } },
      response: { 200: noteSchema }
    }
  }, async (request) => {
    const note = await request.dbRead.selectFrom('notes')
      .select(['id', 'body', 'created_at'])
      .where('id', '=', request.params.id)
      .where('owner', '=', request.auth!.userId)
      .executeTakeFirst()
    if (note === undefined) throw new NoteNotFoundError(request.params.id)
    return note
  })
}
