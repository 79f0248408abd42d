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

/** One sample of a Prometheus text exposition: `name{a="1",b="2"}` → value. */
export function parseMetrics (text: string): Map<string, number> {
  const samples = new Map<string, number>()
  for (const line of text.split('\n')) {
    if (line === '' || line.startsWith('#')) continue
    const at = line.lastIndexOf(' ')
    samples.set(line.slice(0, at), Number(line.slice(at + 1)))
  }
  return samples
}

/** The sample key for a metric and its labels, in the order given. */
export function key (name: string, labels: Record<string, string> = {}): string {
  const parts = Object.entries(labels).map(([k, v]) => `${k}="${v}"`)
  return parts.length === 0 ? name : `${name}{${parts.join(',')}}`
}

export async function scrape (app: FastifyInstance, token?: string): Promise<Map<string, number>> {
  const response = await app.inject({
    url: '/metrics',
    headers: token === undefined ? {} : { authorization: `Bearer ${token}` }
  })
  if (response.statusCode !== 200) throw new Error(`scrape answered ${response.statusCode}: ${response.body}`)
  return parseMetrics(response.body)
}
