import type { IncomingMessage, ServerResponse } from 'node:http'
import type { FastifyInstance } from 'fastify'
import fp from 'fastify-plugin'
import helmet from 'helmet'

export interface SecurityHeadersOptions {
  /** Send Strict-Transport-Security (only when the API is reached over HTTPS). */
  hsts: boolean
}

/**
 * helmet's headers for a JSON API, computed once: they depend on nothing in the request, so
 * running helmet's middleware on every request would only redo the same work.
 */
export function securityHeaders ({ hsts }: SecurityHeadersOptions): Record<string, string> {
  const headers: Record<string, string> = {}
  const response = {
    setHeader: (name: string, value: string) => { headers[name.toLowerCase()] = value },
    removeHeader: (name: string) => { delete headers[name.toLowerCase()] }
  }
  helmet({
    contentSecurityPolicy: { useDefaults: false, directives: { defaultSrc: ["'none'"], frameAncestors: ["'none'"] } },
    strictTransportSecurity: hsts ? { maxAge: 31_536_000, includeSubDomains: true } : false
  })({} as IncomingMessage, response as unknown as ServerResponse, () => {})
  return headers
}

async function securityHeadersPlugin (app: FastifyInstance, options: SecurityHeadersOptions) {
  const headers = securityHeaders(options)
  app.addHook('onRequest', function addSecurityHeaders (_request, reply, done) {
    reply.headers(headers)
    done()
  })
}

export default fp(securityHeadersPlugin, { name: 'muejam-api-security-headers', fastify: '>=5.12.0 <6' })
