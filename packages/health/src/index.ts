import type { FastifyInstance } from 'fastify'
import fp from 'fastify-plugin'

export interface HealthOptions {
  /** Path prefix of the health routes. Default: `/health`. */
  prefix?: string
}

async function healthPlugin (app: FastifyInstance, options: HealthOptions) {
  const prefix = options.prefix ?? '/health'
  app.get(`${prefix}/live`, {
    schema: {
      response: { 200: { type: 'object', properties: { status: { type: 'string' } }, required: ['status'] } }
    }
  }, async () => ({ status: 'pass' }))
}

export const muejamHealth = fp(healthPlugin, { name: '@muejam/health', fastify: '5.x' })
export default muejamHealth
