import Fastify, { type FastifyHttpOptions, type FastifyInstance } from 'fastify'
import type { Server } from 'node:http'
import health, { type HealthOptions } from '../../src/index.js'

interface Teardown { teardown(fn: () => unknown): void }

export interface LogLine {
  level: number
  msg: string
  [key: string]: unknown
}

/**
 * A plain Fastify app with the health plugin. The disk reading is fixed at 10 % unless the
 * test sets its own, so the machine's real disk cannot change an outcome.
 */
export async function build (t: Teardown, options: HealthOptions = {}, server: FastifyHttpOptions<Server> = {}): Promise<FastifyInstance> {
  const app = Fastify(server)
  t.teardown(() => app.close())
  await app.register(health, { diskUsage: async () => 10, ...options })
  return app
}

/** An app whose log lines are kept in `lines`. */
export async function buildWithLog (t: Teardown, options: HealthOptions = {}) {
  const lines: LogLine[] = []
  const app = await build(t, options, {
    logger: { level: 'info', stream: { write: (line: string) => { lines.push(JSON.parse(line) as LogLine) } } }
  })
  return { app, lines }
}

/** Calls `probe` every `everyMs` until `done` accepts its result or `withinMs` passes. */
export async function waitFor<T> (probe: () => Promise<T>, done: (value: T) => boolean, withinMs: number, everyMs = 50) {
  const started = performance.now()
  for (;;) {
    const value = await probe()
    const elapsed = performance.now() - started
    if (done(value) || elapsed > withinMs) return { value, elapsed }
    await new Promise((resolve) => setTimeout(resolve, everyMs))
  }
}

export function sleep (ms: number) {
  return new Promise((resolve) => setTimeout(resolve, ms))
}
