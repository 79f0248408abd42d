import swagger from '@fastify/swagger'
import type { FastifyInstance } from 'fastify'
import fp from 'fastify-plugin'

export interface DocsOptions {
  version: string
  /** The OpenAPI document's server. */
  publicUrl: string
}

/** OpenAPI 3 from the routes' TypeBox schemas, served at `/docs/json`. */
async function docs (app: FastifyInstance, { version, publicUrl }: DocsOptions): Promise<void> {
  await app.register(swagger, {
    openapi: {
      openapi: '3.1.0',
      info: { title: 'muejam API', description: 'Stories made of chapters, written by signed-in users, read by anyone.', version },
      servers: [{ url: publicUrl }],
      tags: [{ name: 'stories' }, { name: 'me' }],
      components: {
        securitySchemes: { bearer: { type: 'http', scheme: 'bearer', bearerFormat: 'JWT' } }
      }
    }
  })
  app.get('/docs/json', { schema: { hide: true } }, async () => app.swagger())
}

// Shared scope: swagger must see the routes registered after it.
export default fp(docs, { name: 'muejam-api-docs', fastify: '>=5.12.0 <6' })
