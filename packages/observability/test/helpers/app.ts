import { Writable } from 'node:stream'
import Fastify, { type FastifyInstance, type FastifyServerOptions } from 'fastify'
import observability, { type ObservabilityOptions } from '../../src/index.js'

interface Teardown { teardown(fn: () => unknown): void }

/** A Fastify app with the plugin registered first; closed at teardown. */
export async function build (t: Teardown, options: ObservabilityOptions = {}, server: FastifyServerOptions = {}): Promise<FastifyInstance> {
  const app = Fastify(server)
  t.teardown(() => app.close())
  await app.register(observability, { defaultMetrics: false, ...options })
  return app
}

/** Every line a pino logger writes, parsed. */
export class LogCapture extends Writable {
  readonly raw: string[] = []

  override _write (chunk: Buffer, _encoding: BufferEncoding, callback: () => void) {
    for (const line of chunk.toString('utf8').split('\n')) if (line !== '') this.raw.push(line)
    callback()
  }

  get lines (): Array<Record<string, unknown>> {
    return this.raw.map((line) => JSON.parse(line) as Record<string, unknown>)
  }

  audit (): Array<Record<string, unknown>> {
    return this.lines.filter((line) => line.audit === true)
  }
}
