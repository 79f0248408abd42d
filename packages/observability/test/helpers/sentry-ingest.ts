import { once } from 'node:events'
import { createServer, type IncomingHttpHeaders } from 'node:http'
import type { AddressInfo } from 'node:net'
import { gunzipSync } from 'node:zlib'

interface Teardown { teardown(fn: () => unknown): void }

/** One envelope as the SDK posted it: the raw text, and each item with its header. */
export interface Envelope {
  path: string
  headers: IncomingHttpHeaders
  raw: string
  header: Record<string, unknown>
  items: Array<{ type: string, payload: Record<string, unknown> }>
}

export interface Ingest {
  /** A DSN pointing at this server, project 42. */
  dsn: string
  envelopes: Envelope[]
  /** Every error event received so far. */
  events: () => Array<Record<string, unknown>>
}

/**
 * A local HTTP server speaking Sentry's ingest protocol: it accepts envelopes on
 * `/api/<project>/envelope/` (newline-separated JSON: envelope header, then item header and
 * payload pairs) and answers 200, as sentry.io does. The real SDK posts to it.
 */
export async function startIngest (t: Teardown): Promise<Ingest> {
  const envelopes: Envelope[] = []
  const server = createServer((request, response) => {
    const chunks: Buffer[] = []
    request.on('data', (chunk: Buffer) => chunks.push(chunk))
    request.on('end', () => {
      let body = Buffer.concat(chunks)
      if (request.headers['content-encoding'] === 'gzip') body = gunzipSync(body)
      const raw = body.toString('utf8')
      const lines = raw.split('\n').filter((line) => line !== '')
      const items: Envelope['items'] = []
      for (let i = 1; i + 1 < lines.length; i += 2) {
        const itemHeader = JSON.parse(lines[i] as string) as { type: string }
        items.push({ type: itemHeader.type, payload: JSON.parse(lines[i + 1] as string) as Record<string, unknown> })
      }
      envelopes.push({ path: request.url ?? '', headers: request.headers, raw, header: JSON.parse(lines[0] ?? '{}'), items })
      response.writeHead(200, { 'content-type': 'application/json' })
      response.end('{}')
    })
  })
  server.listen(0, '127.0.0.1')
  await once(server, 'listening')
  t.teardown(() => new Promise((resolve) => server.close(resolve)))
  const { port } = server.address() as AddressInfo
  return {
    dsn: `http://publickey1@127.0.0.1:${port}/42`,
    envelopes,
    events: () => envelopes.flatMap((envelope) => envelope.items.filter((item) => item.type === 'event').map((item) => item.payload))
  }
}
