import { Writable } from 'node:stream'
import Fastify, { type FastifyError, type FastifyInstance, type LightMyRequestResponse } from 'fastify'
import auth, { type AuthOptions } from '../../src/index.js'

interface Teardown { teardown(fn: () => unknown): void }

export interface TestApp {
  app: FastifyInstance
  /** Every log line the app wrote, raw. */
  lines: string[]
  /** GET `path` with `Authorization: Bearer <token>` when a token is given. */
  get (path: string, token?: string, headers?: Record<string, string>): Promise<LightMyRequestResponse>
}

/** What a host renders: the error's headers applied, its `code`, `message` and `extensions` in the body. */
export interface ClientError extends FastifyError {
  headers?: Record<string, string>
  extensions?: Record<string, unknown>
}

export interface BuildOptions {
  /** Runs before the plugin registers (e.g. another plugin registered first). */
  before?: (app: FastifyInstance) => unknown
  /** Runs after the plugin registers and before the routes are added (e.g. another plugin registered after it). */
  after?: (app: FastifyInstance) => unknown
  /** Keep Fastify's default error handler instead of a problem-style one. */
  defaultErrorHandler?: boolean
}

/**
 * An app with the plugin and four routes: `/required`, `/optional`, `/default` (no config) and
 * `/open` (`auth: false`), each answering `{ auth }`. Errors are rendered like the API's problem
 * handler (`{ status, code, detail, ...extensions }`, headers applied). Logs are captured at trace level.
 */
export async function buildApp (t: Teardown, options: AuthOptions, build: BuildOptions = {}): Promise<TestApp> {
  const lines: string[] = []
  const stream = new Writable({
    write (chunk, _encoding, done) {
      lines.push(chunk.toString())
      done()
    }
  })
  const app = Fastify({ logger: { level: 'trace', stream } })
  t.teardown(() => app.close())
  if (build.before !== undefined) await build.before(app)
  if (build.defaultErrorHandler !== true) {
    app.setErrorHandler((error: ClientError, _request, reply) => {
      if (error.headers !== undefined) reply.headers(error.headers)
      const status = error.statusCode ?? 500
      return reply.code(status).send({ status, code: error.code, detail: error.message, ...error.extensions })
    })
  }
  await app.register(auth, options)
  if (build.after !== undefined) await build.after(app)
  app.get('/required', { config: { auth: 'required' } }, async (request) => ({ auth: request.auth }))
  app.get('/optional', { config: { auth: 'optional' } }, async (request) => ({ auth: request.auth }))
  app.get('/default', async (request) => ({ auth: request.auth }))
  app.get('/open', { config: { auth: false } }, async (request) => ({ auth: request.auth }))
  await app.ready()
  return {
    app,
    lines,
    get (path, token, headers = {}) {
      return app.inject({ method: 'GET', url: path, headers: token === undefined ? headers : { authorization: `Bearer ${token}`, ...headers } })
    }
  }
}

/** Resolves after `ms` milliseconds. */
export function sleep (ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms))
}

/** Polls `check` every `everyMs` until it returns true; fails after `withinMs`. */
export async function eventually (check: () => boolean | Promise<boolean>, withinMs: number, everyMs = 25): Promise<number> {
  const started = Date.now()
  while (!(await check())) {
    if (Date.now() - started > withinMs) throw new Error(`condition not met within ${withinMs} ms`)
    await sleep(everyMs)
  }
  return Date.now() - started
}

/** Seconds since the epoch, as JWT dates are. */
export function nowS (): number {
  return Math.floor(Date.now() / 1000)
}
