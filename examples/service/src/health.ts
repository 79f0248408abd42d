import type { FastifyInstance } from 'fastify'
import health from '@muejam/health'

/**
 * `/health/live` and `/health/ready`. The database and Redis checks are added by the plugins
 * that own those connections, whatever the order they are registered in.
 */
export async function registerHealth (app: FastifyInstance) {
  await app.register(health, {
    version: '1.0.0',
    diskPath: false,
    routeConfig: { auth: false, rateLimit: false }
  })
}
