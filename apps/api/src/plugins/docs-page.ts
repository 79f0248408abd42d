import swaggerUi from '@fastify/swagger-ui'
import type { FastifyInstance, FastifyReply, FastifyRequest, HookHandlerDoneFunction } from 'fastify'

export interface DocsPageOptions {
  /** Where "Try it out" sends requests: the OpenAPI document's server. */
  publicUrl: string
}

/**
 * The page's own policy, in place of the API's `default-src 'none'`: its scripts, styles and
 * the document from this origin only, the `data:` SVG icons its styles hold, and "Try it
 * out" requests to the API.
 */
export function docsPagePolicy (publicUrl: string): string {
  const api = new URL(publicUrl).origin
  return [
    "default-src 'none'",
    "script-src 'self'",
    "style-src 'self'",
    "img-src 'self' data:",
    `connect-src 'self' ${api}`,
    "base-uri 'none'",
    "form-action 'none'",
    "frame-ancestors 'none'"
  ].join('; ')
}

/**
 * Swagger UI also redirects its old address, `/docs/static/index.html`, to the page; the API
 * answers only what it documents, and every refusal is a problem: a 404 there.
 */
function withoutOldAddress (request: FastifyRequest, reply: FastifyReply, done: HookHandlerDoneFunction): void {
  if (request.routeOptions.url?.endsWith('/static/index.html') === true) reply.callNotFound()
  else done()
}

/** `GET /docs`: the API reference (Swagger UI, served from this process), and `GET /docs/json`. */
export default async function docsPage (app: FastifyInstance, { publicUrl }: DocsPageOptions) {
  const policy = docsPagePolicy(publicUrl)
  // On the page alone: the document, the scripts and the styles keep the API's policy.
  app.addHook('onSend', function docsPageSecurityPolicy (_request, reply, payload, done) {
    if (String(reply.getHeader('content-type')).startsWith('text/html')) reply.header('content-security-policy', policy)
    done(null, payload)
  })
  await app.register(swaggerUi, {
    routePrefix: '/docs',
    theme: { title: 'muejam API reference' },
    uiHooks: { onRequest: withoutOldAddress },
    // BaseLayout: the standalone layout's top bar draws its logo with an inline <style>.
    uiConfig: { layout: 'BaseLayout', deepLinking: true, displayOperationId: true, defaultModelsExpandDepth: 0 }
  })
}
