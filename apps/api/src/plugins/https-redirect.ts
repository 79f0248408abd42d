import type { FastifyInstance } from 'fastify'
import fp from 'fastify-plugin'
import { absoluteUrl } from '../public-url.js'

/**
 * Redirects plain-HTTP requests (as seen through trusted proxies) to the same path on
 * `publicUrl` with 308, which keeps the method and body. Health probes are exempt:
 * orchestrators call them over HTTP.
 */
async function httpsRedirect (app: FastifyInstance, { publicUrl }: { publicUrl: string }) {
  app.addHook('onRequest', function redirectToHttps (request, reply, done) {
    if (request.protocol === 'https' || request.url.startsWith('/health')) done()
    else reply.redirect(absoluteUrl(publicUrl, request.url), 308)
  })
}

export default fp(httpsRedirect, { name: 'muejam-api-https-redirect', fastify: '>=5.12.0 <6' })
