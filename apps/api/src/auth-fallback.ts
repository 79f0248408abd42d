import type { FastifyInstance } from 'fastify'
import { clientError } from './http-errors.js'

/*
 * Stand-in until @muejam/auth is registered: it types `request.auth`, starts it as null
 * (anonymous) and answers 401 on `config: { auth: 'required' }` routes. Delete this file
 * and its registration in app.ts once the auth plugin fills `request.auth`.
 */

/** The verified caller, as @muejam/auth sets it. */
export interface RequestAuth {
  userId: string
  sessionId: string
  orgId?: string
  claims: Record<string, unknown>
}

declare module 'fastify' {
  interface FastifyRequest {
    auth: RequestAuth | null
  }
  interface FastifyContextConfig {
    auth?: 'required' | 'optional'
  }
}

export function registerAuthFallback (app: FastifyInstance): void {
  if (!app.hasRequestDecorator('auth')) app.decorateRequest('auth', null)
  app.addHook('preHandler', async (request) => {
    if (request.routeOptions.config.auth === 'required' && request.auth === null) {
      throw clientError(401, 'unauthenticated', 'Sign in to do this.', { headers: { 'www-authenticate': 'Bearer' } })
    }
  })
}
