import { once } from 'node:events'
import { createServer } from 'node:http'
import type { AddressInfo } from 'node:net'

interface Test {
  teardown(fn: () => unknown): void
}

export interface OtlpSpan {
  traceId: string
  spanId: string
  parentSpanId?: string
  name: string
  kind: number
}

export interface Export {
  path: string | undefined
  contentType: string | undefined
  body: Buffer
}

/** An OTLP/HTTP receiver on 127.0.0.1: keeps every export, and the spans of the JSON ones. */
export async function startCollector (t: Test) {
  const exports: Export[] = []
  const spans: OtlpSpan[] = []
  const server = createServer((request, response) => {
    const chunks: Buffer[] = []
    request.on('data', (chunk: Buffer) => chunks.push(chunk)).on('end', () => {
      const body = Buffer.concat(chunks)
      const contentType = request.headers['content-type']
      exports.push({ path: request.url, contentType, body })
      if (contentType === 'application/json') {
        const parsed = JSON.parse(body.toString('utf8')) as { resourceSpans?: Array<{ scopeSpans?: Array<{ spans?: OtlpSpan[] }> }> }
        for (const resource of parsed.resourceSpans ?? []) for (const scope of resource.scopeSpans ?? []) spans.push(...scope.spans ?? [])
      }
      response.writeHead(200, { 'content-type': contentType ?? 'application/json' }).end()
    })
  })
  server.listen(0, '127.0.0.1')
  await once(server, 'listening')
  t.teardown(() => new Promise((resolve) => server.close(resolve)))
  return { url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`, exports, spans }
}
