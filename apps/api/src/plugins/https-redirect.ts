import type { FastifyInstance } from 'fastify'

/**
 * Redirects plain-HTTP requests (as seen through trusted proxies) to https with 308, which
 * keeps the method and body. Health probes are exempt: orchestrators call them over HTTP.
 */
export function registerHttpsRedirect (app: FastifyInstance) {
  app.addHook('onRequest', async (request, reply) => {
    if (request.protocol === 'https' || request.url.startsWith('/health')) return
    return reply.redirect(`https://${request.host}${request.url}`, 308)
  })
}
