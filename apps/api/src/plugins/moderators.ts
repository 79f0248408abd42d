import type { FastifyInstance } from 'fastify'
import fp from 'fastify-plugin'
import { ModeratorLookup, type ModeratorLookupOptions } from '../moderators.js'

declare module 'fastify' {
  interface FastifyInstance {
    /** The rate limiter's moderator exemption, cached per user (at most one query a minute). */
    moderators: ModeratorLookup
  }
}

async function moderators (app: FastifyInstance, options: ModeratorLookupOptions) {
  app.decorate('moderators', new ModeratorLookup((signal) => app.dbPool.readerFor(signal), options))
}

export default fp(moderators, { name: 'muejam-api-moderators', fastify: '>=5.12.0 <6', decorators: { fastify: ['dbPool'] } })
