import type { FastifyRequest } from 'fastify'

/**
 * Names the signed-in caller of a request, or returns null/undefined for an anonymous one.
 * A non-empty string is counted per user against `maxAuthenticated`; anything else per
 * client IP against `max`.
 */
export type Identify = (request: FastifyRequest) => string | null | undefined

/** The default: the user id an auth plugin such as `@muejam/auth` puts in `request.auth.userId`. */
export function authUserId (request: FastifyRequest): string | undefined {
  const auth = (request as FastifyRequest & { auth?: unknown }).auth
  if (auth === null || typeof auth !== 'object') return undefined
  const userId = (auth as { userId?: unknown }).userId
  return typeof userId === 'string' ? userId : undefined
}

/** Only a non-empty string identifies a user; anything else an identify function returns means anonymous. */
export function userIdOf (identity: unknown): string | undefined {
  return typeof identity === 'string' && identity !== '' ? identity : undefined
}
