import type { FastifyInstance } from 'fastify'
import fp from 'fastify-plugin'

/*
 * The one place tests get an identity from. Today a test-only plugin (registered by
 * build(), never by the app) turns the header below into `request.auth`; once
 * @muejam/auth is registered, authHeaders() returns a real signed bearer token instead
 * and testAuth goes away. Tests call only authHeaders().
 */

const PREFIX = 'Bearer test-user.'

/** Request headers that make the caller the Clerk user `userId`. */
export function authHeaders (userId: string): Record<string, string> {
  return { authorization: `${PREFIX}${encodeURIComponent(userId)}` }
}

async function testAuthPlugin (app: FastifyInstance) {
  if (!app.hasRequestDecorator('auth')) app.decorateRequest('auth', null)
  app.addHook('onRequest', async (request) => {
    const header = request.headers.authorization
    if (header === undefined || !header.startsWith(PREFIX)) return
    const userId = decodeURIComponent(header.slice(PREFIX.length))
    request.auth = { userId, sessionId: `sess_${userId}`, claims: { sub: userId, sid: `sess_${userId}` } }
  })
}

export const testAuth = fp(testAuthPlugin, { name: 'muejam-test-auth' })
