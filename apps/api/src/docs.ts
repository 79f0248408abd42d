import swagger from '@fastify/swagger'
import type { FastifyInstance } from 'fastify'

/** OpenAPI 3 from the routes' TypeBox schemas, served at `/docs/json`; `publicUrl` is its server. */
export async function registerDocs (app: FastifyInstance, { version, publicUrl }: { version: string, publicUrl: string }): Promise<void> {
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
