import type { FastifyInstance } from 'fastify'
import problem from '@muejam/problem'

/** Every error, unknown route and invalid request answered as application/problem+json (RFC 9457). */
export async function registerProblem (app: FastifyInstance) {
  await app.register(problem, { typeBase: 'https://notes.example.org/problems/' })
}
