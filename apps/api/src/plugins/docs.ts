import swagger from '@fastify/swagger'
import type { FastifyInstance } from 'fastify'
import fp from 'fastify-plugin'
import docsPage from './docs-page.js'
import { completeDocument, operationKey, routeSettings } from './openapi-document.js'
import type { AuthMode, RouteSettings } from './openapi-responses.js'

export interface DocsOptions {
  version: string
  /** The OpenAPI document's server. */
  publicUrl: string
  /** The authentication mode of a route whose `config.auth` is unset (the auth plugin's `defaultMode`). Default `'optional'`. */
  defaultAuthMode?: AuthMode
}

/**
 * The OpenAPI 3.1 document of the routes registered after this plugin, at
 * `/docs/openapi.json` (and `/docs/json`), and the API reference page at `/docs`.
 */
async function docs (app: FastifyInstance, { version, publicUrl, defaultAuthMode = 'optional' }: DocsOptions): Promise<void> {
  const routes = new Map<string, RouteSettings>()
  app.addHook('onRoute', (route) => {
    const settings = routeSettings(route)
    for (const method of [route.method].flat()) routes.set(operationKey(method, route.url), settings)
  })
  await app.register(swagger, {
    openapi: {
      openapi: '3.1.0',
      info: { title: 'muejam API', description: 'Stories made of chapters, written by signed-in users, read by anyone.', version },
      servers: [{ url: publicUrl }],
      tags: [{ name: 'stories' }, { name: 'me' }],
      components: {
        securitySchemes: { bearer: { type: 'http', scheme: 'bearer', bearerFormat: 'JWT' } }
      }
    },
    transformObject: (document) => 'openapiObject' in document ? completeDocument(document.openapiObject, routes, defaultAuthMode) : document.swaggerObject
  })
  await app.register(docsPage, { publicUrl })
  app.get('/docs/openapi.json', { schema: { hide: true } }, async () => app.swagger())
}

// Shared scope: swagger must see the routes registered after it.
export default fp(docs, { name: 'muejam-api-docs', fastify: '>=5.12.0 <6' })
