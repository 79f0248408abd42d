import { once } from 'node:events'
import { createServer, type IncomingHttpHeaders } from 'node:http'
import type { AddressInfo } from 'node:net'
import { gunzipSync } from 'node:zlib'

interface Teardown { teardown(fn: () => unknown): void }

/** One envelope as the SDK posted it: the raw text, and each item with its type. */
export interface Envelope {
  path: string
  headers: IncomingHttpHeaders
  raw: string
  items: Array<{ type: string, payload: Record<string, unknown> }>
}

export interface SentryIngest {
  /** A DSN pointing at this server and the project of `startSentryIngest`'s options. */
  dsn: string
  /** The DSN's public key, to look for in places it must not be. */
  publicKey: string
  envelopes: Envelope[]
  /** Every error event received so far. */
  events(): Array<Record<string, unknown>>
  /** Everything received (each envelope's path, headers and body), as text. */
  raw(): string
}

export interface SentryIngestOptions {
  /** The project id in the DSN, hence in the envelope path `/api/<project>/envelope/`. Default: 1. */
  project?: number
}

const PUBLIC_KEY = 'a3f9c2e1d4b5460f8e7a9b0c1d2e3f40'

/**
 * A local HTTP server speaking Sentry's ingest protocol: envelopes (newline-separated JSON:
 * envelope header, then item header and payload pairs, possibly gzipped) posted to
 * `/api/<project>/envelope/`, answered 200 as sentry.io does. The real SDK reports to it.
 */
export async function startSentryIngest (t: Teardown, { project = 1 }: SentryIngestOptions = {}): Promise<SentryIngest> {
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
      envelopes.push({ path: request.url ?? '', headers: request.headers, raw, items })
      response.writeHead(200, { 'content-type': 'application/json' })
      response.end('{}')
    })
  })
  server.listen(0, '127.0.0.1')
  await once(server, 'listening')
  t.teardown(() => new Promise((resolve) => server.close(resolve)))
  const { port } = server.address() as AddressInfo
  return {
    dsn: `http://${PUBLIC_KEY}@127.0.0.1:${port}/${project}`,
    publicKey: PUBLIC_KEY,
    envelopes,
    events: () => envelopes.flatMap((envelope) => envelope.items.filter((item) => item.type === 'event').map((item) => item.payload)),
    raw: () => envelopes.map((envelope) => `${envelope.path}\n${JSON.stringify(envelope.headers)}\n${envelope.raw}`).join('\n')
  }
}
