import type { FastifyInstance } from 'fastify'
import rateLimit from '@muejam/rate-limit'

/**
 * Counted in Redis, shared by every instance: a signed-in caller by its identity, anyone
 * else by client IP. 429 with `Retry-After` past the budget. Register after auth.
 */
export async function registerRateLimit (app: FastifyInstance) {
  await app.register(rateLimit, {
    redis: app.config.REDIS_URL,
    keyPrefix: app.config.RATE_LIMIT_KEY_PREFIX,
    max: app.config.RATE_LIMIT_MAX,
    maxAuthenticated: app.config.RATE_LIMIT_MAX_USER,
    windowMs: 60_000,
    identify: (request) => request.auth?.userId
  })
}
