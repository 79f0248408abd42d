import type { FastifyInstance } from 'fastify'
import problem, { createProblemError } from '@muejam/problem'

/** An error of the service's own, rendered like every package's: status, code, extensions. */
export const NoteNotFoundError = createProblemError({
  code: 'note_not_found',
  statusCode: 404,
  message: (id: number) => `You have no note ${id}.`,
  extensions: (id) => ({ note_id: id })
})

/** Every error, unknown route and invalid request answered as application/problem+json (RFC 9457). */
export async function registerProblem (app: FastifyInstance) {
  await app.register(problem, { typeBase: 'https://notes.example.org/problems/' })
}
