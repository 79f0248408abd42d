import { Writable } from 'node:stream'
import Fastify, { type FastifyInstance, type FastifyServerOptions } from 'fastify'
import fp from 'fastify-plugin'
import rateLimit, { type RateLimitOptions } from '../../src/index.js'

interface Teardown { teardown (fn: () => unknown): void }

export interface LogLine { level: number, msg: string, [field: string]: unknown }

/** A pino destination that keeps every line, for asserting what was logged. */
export function capturedLogger () {
  const lines: LogLine[] = []
  const stream = new Writable({
    write (chunk, _encoding, done) {
      for (const line of chunk.toString().split('\n')) if (line !== '') lines.push(JSON.parse(line))
      done()
    }
  })
  return { lines, logger: { level: 'info', stream } }
}

/**
 * Stands in for @muejam/auth: an onRequest hook that fills `request.auth` from the
 * `x-test-user` header, registered before the rate limiter the way the API does.
 */
export const fakeAuth = fp(async (app) => {
  app.decorateRequest('auth', null)
  app.addHook('onRequest', async (request) => {
    const user = request.headers['x-test-user']
    if (typeof user === 'string') (request as unknown as { auth: unknown }).auth = { userId: user, sessionId: 'sess_1', claims: {} }
  })
}, { name: 'fake-auth' })

export interface BuildOptions {
  server?: FastifyServerOptions
  /** Registered before the rate limiter (after the fake auth). */
  before?: (app: FastifyInstance) => Promise<void>
  /** Called after the plugin registered and before ready, to add routes. */
  routes?: (app: FastifyInstance) => void
}

/**
 * An app like the API: fake auth, the rate limiter, an error handler that renders the
 * problem fields the API does (status, code, extensions, error.headers applied by Fastify),
 * and a few routes.
 */
export async function build (t: Teardown, options: RateLimitOptions, { server, before, routes }: BuildOptions = {}): Promise<FastifyInstance> {
  const app = Fastify(server)
  t.teardown(() => app.close())
  app.setErrorHandler((error: Error & { statusCode?: number, code?: string, extensions?: Record<string, unknown> }, _request, reply) => {
    reply.code(error.statusCode ?? 500).type('application/problem+json')
      .send({ status: error.statusCode ?? 500, code: error.code, detail: error.message, ...error.extensions })
  })
  await app.register(fakeAuth)
  await before?.(app)
  await app.register(rateLimit, options)
  app.get('/things', async () => ({ ok: true }))
  app.post('/things', async () => ({ created: true }))
  app.get('/health/live', async () => ({ status: 'pass' }))
  app.get('/health/ready', async () => ({ status: 'healthy' }))
  app.get('/metrics', async () => 'metrics_total 1\n')
  routes?.(app)
  await app.ready()
  return app
}

export function asUser (userId: string) {
  return { 'x-test-user': userId }
}
