import type { FastifyInstance } from 'fastify'
import { sql } from 'kysely'

/**
 * A report whose query may run long (`seconds` stands in for the work): past the request's
 * deadline the client gets 504 and PostgreSQL stops the query.
 */
export async function reportRoutes (app: FastifyInstance) {
  app.get<{ Querystring: { seconds: number } }>('/reports/activity', {
    schema: {
      querystring: {
        type: 'object',
        properties: { seconds: { type: 'number', minimum: 0, maximum: 30, default: 0 } }
      }
    }
  }, async (request) => {
    const { rows } = await sql<{ notes: number }>`
      select (select count(*)::int from notes) as notes from pg_sleep(${request.query.seconds})
    `.execute(request.dbRead)
    return { notes: rows[0]?.notes ?? 0 }
  })
}
