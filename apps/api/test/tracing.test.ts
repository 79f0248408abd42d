import { randomBytes } from 'node:crypto'
import { once } from 'node:events'
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { createServer, type IncomingMessage } from 'node:http'
import type { AddressInfo } from 'node:net'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { setTimeout as sleep } from 'node:timers/promises'
import { createTestDatabase } from '@muejam/testing/database'
import { startJwksServer } from '@muejam/testing/jwks'
import t from 'tap'
import { type ApiProcess, migrate, startApiProcess } from './helpers/api-process.js'
import { authHeaders } from './helpers/auth.js'
import { claimRedisDatabase } from './helpers/redis.js'
import type { StoryBody } from './helpers/stories.js'

/*
 * Tracing as deployed: `dist/server.js` as a real process on real PostgreSQL and Redis,
 * exporting OTLP/HTTP (JSON) to a collector this test plays, started only by OTEL_* variables.
 */

interface OtlpValue { stringValue?: string, intValue?: string | number }
interface OtlpSpan {
  traceId: string
  spanId: string
  parentSpanId?: string
  name: string
  kind: number
  attributes?: Array<{ key: string, value: OtlpValue }>
}
interface CollectedSpan extends OtlpSpan { scope: string, service: string | undefined }
interface OtlpRequest {
  resourceSpans?: Array<{
    resource?: { attributes?: Array<{ key: string, value: OtlpValue }> }
    scopeSpans?: Array<{ scope?: { name?: string }, spans?: OtlpSpan[] }>
  }>
}

interface Test {
  teardown(fn: () => unknown): void
}

const SPAN_KIND_SERVER = 2
const SPAN_KIND_CLIENT = 3

/** An OTLP/HTTP receiver: accepts POST /v1/traces in JSON and keeps every span. */
async function startCollector (t: Test) {
  const spans: CollectedSpan[] = []
  const requests: Array<{ path: string | undefined, contentType: string | undefined }> = []
  const server = createServer((request: IncomingMessage, response) => {
    let body = ''
    request.setEncoding('utf8').on('data', (chunk: string) => { body += chunk }).on('end', () => {
      requests.push({ path: request.url, contentType: request.headers['content-type'] })
      if (request.method !== 'POST' || request.url !== '/v1/traces') {
        response.writeHead(404).end()
        return
      }
      const exported = JSON.parse(body) as OtlpRequest
      for (const resourceSpans of exported.resourceSpans ?? []) {
        const service = resourceSpans.resource?.attributes?.find(({ key }) => key === 'service.name')?.value.stringValue
        for (const scopeSpans of resourceSpans.scopeSpans ?? []) {
          for (const span of scopeSpans.spans ?? []) spans.push({ ...span, scope: scopeSpans.scope?.name ?? '', service })
        }
      }
      response.writeHead(200, { 'content-type': 'application/json' }).end('{}')
    })
  })
  server.listen(0, '127.0.0.1')
  await once(server, 'listening')
  t.teardown(() => new Promise((resolve) => server.close(resolve)))
  const { port } = server.address() as AddressInfo
  return { url: `http://127.0.0.1:${port}`, spans, requests }
}

/**
 * A preload (NODE_OPTIONS=--import) whose loader hook writes every module URL the process
 * resolves to a file: the proof of what tracing loads, and of what it does not.
 */
function moduleRecorder (t: Test) {
  const dir = mkdtempSync(join(tmpdir(), 'muejam-tracing-'))
  t.teardown(() => rmSync(dir, { recursive: true, force: true }))
  const list = join(dir, 'modules.txt')
  writeFileSync(list, '')
  const hooks = [
    "import { appendFileSync } from 'node:fs'",
    'let file',
    'export function initialize (data) { file = data.file }',
    "export async function resolve (specifier, context, next) { const resolved = await next(specifier, context); appendFileSync(file, resolved.url + '\\n'); return resolved }"
  ].join('\n')
  const preload = join(dir, 'record-modules.mjs')
  writeFileSync(preload, [
    "import { register } from 'node:module'",
    `register('data:text/javascript,' + encodeURIComponent(${JSON.stringify(hooks)}), import.meta.url, { data: { file: ${JSON.stringify(list)} } })`
  ].join('\n'))
  return { nodeOptions: `--import=${preload}`, loaded: () => readFileSync(list, 'utf8').split('\n').filter((url) => url !== '') }
}

const OPENTELEMETRY_MODULE = /\/node_modules\/(@opentelemetry\/|@fastify\/otel\/|import-in-the-middle\/)/

const suffix = randomBytes(3).toString('hex')
const database = await createTestDatabase(t, 'api_tracing')
await migrate(database.url)
const redis = await claimRedisDatabase(t, 'api-tracing')
const serviceEnv = {
  DATABASE_URL: database.url,
  REDIS_URL: redis.url,
  LOG_LEVEL: 'debug',
  RATE_LIMIT_MAX: '100000',
  RATE_LIMIT_MAX_AUTHENTICATED: '100000'
}

/** Spans collected so far of `traceId`, once `predicate` holds for them (the exporter batches). */
async function spansOf (collected: CollectedSpan[], traceId: string, predicate: (spans: CollectedSpan[]) => boolean): Promise<CollectedSpan[]> {
  const deadline = Date.now() + 10_000
  for (;;) {
    const spans = collected.filter((span) => span.traceId === traceId)
    if (predicate(spans) || Date.now() > deadline) return spans
    await sleep(50)
  }
}

/** Whether `span` descends from the span `ancestorId` within `spans`. */
function descendsFrom (span: CollectedSpan, ancestorId: string, spans: CollectedSpan[]): boolean {
  let parent = span.parentSpanId
  for (let depth = 0; parent !== undefined && parent !== '' && depth < 20; depth++) {
    if (parent === ancestorId) return true
    parent = spans.find((candidate) => candidate.spanId === parent)?.parentSpanId
  }
  return false
}

function completedLine (api: ApiProcess, route: string): Record<string, unknown> | undefined {
  return api.logs().find((line) => line.msg === 'request completed' && line.route === route)
}

async function createPublishedStory (api: ApiProcess, author: string): Promise<StoryBody> {
  const created = await api.request({ method: 'POST', path: '/v1/stories', headers: authHeaders(author), body: { title: 'Traced', publish: true } })
  if (created.status !== 201) throw new Error(`could not create a story: ${created.status} ${created.body}`)
  return created.json<StoryBody>()
}

t.test('with OTEL_EXPORTER_OTLP_ENDPOINT set, a request continues the caller\'s trace: one server span named by its route, its queries and Redis calls beneath it, its trace id in its log line', async (t) => {
  const collector = await startCollector(t)
  const recorder = moduleRecorder(t)
  const api = await startApiProcess(t, {
    ...serviceEnv,
    OTEL_EXPORTER_OTLP_ENDPOINT: collector.url,
    OTEL_EXPORTER_OTLP_PROTOCOL: 'http/json',
    OTEL_BSP_SCHEDULE_DELAY: '100',
    OTEL_SERVICE_NAME: 'muejam-api-tracing-test',
    NODE_OPTIONS: recorder.nodeOptions
  })
  const story = await createPublishedStory(api, `user_2trcAuthor${suffix}`)

  const traceId = randomBytes(16).toString('hex')
  const callerSpanId = randomBytes(8).toString('hex')
  const read = await api.request({ path: `/v1/stories/${story.id}`, headers: { traceparent: `00-${traceId}-${callerSpanId}-01` } })
  t.equal(read.status, 200)

  const spans = await spansOf(collector.spans, traceId, (spans) =>
    spans.some((span) => span.kind === SPAN_KIND_SERVER) &&
    spans.some((span) => span.scope.includes('instrumentation-pg')) &&
    spans.some((span) => span.scope.includes('instrumentation-ioredis')))
  const servers = spans.filter((span) => span.kind === SPAN_KIND_SERVER)
  t.equal(servers.length, 1, 'one server span for the request')
  const server = servers[0]
  if (server === undefined) return
  t.equal(server.name, 'GET /v1/stories/:id', 'named by the route template, not the URL')
  t.equal(server.parentSpanId, callerSpanId, 'its parent is the span of the incoming traceparent')
  t.equal(server.service, 'muejam-api-tracing-test', 'OTEL_SERVICE_NAME names the service')
  t.equal(server.attributes?.find(({ key }) => key === 'http.route')?.value.stringValue, '/v1/stories/:id')

  const queries = spans.filter((span) => span.scope.includes('instrumentation-pg') && span.kind === SPAN_KIND_CLIENT)
  t.ok(queries.length >= 1, `query spans: ${queries.map((span) => span.name).join(', ')}`)
  t.ok(queries.every((span) => descendsFrom(span, server.spanId, spans)), 'every query span lies beneath the server span')
  const redisCalls = spans.filter((span) => span.scope.includes('instrumentation-ioredis'))
  t.ok(redisCalls.length >= 1, `Redis spans: ${redisCalls.map((span) => span.name).join(', ')}`)
  t.ok(redisCalls.every((span) => descendsFrom(span, server.spanId, spans)), 'every Redis span lies beneath the server span')

  const line = completedLine(api, '/v1/stories/:id')
  t.equal(line?.trace_id, traceId, 'the request\'s log line carries its trace id')
  t.match(line?.span_id, /^[0-9a-f]{16}$/, 'and a span id')
  t.ok(spans.some((span) => span.spanId === line?.span_id), 'of a span of that trace')

  t.ok(recorder.loaded().some((url) => OPENTELEMETRY_MODULE.test(url)), 'OpenTelemetry was loaded')
  t.ok(collector.requests.every((request) => request.contentType === 'application/json'), 'exported as OTLP/HTTP JSON')
})

t.test('a request whose token needs the issuer\'s keys traces their JWKS fetch: a GET client span to the JWKS URL beneath the request\'s server span, its traceparent sent on', async (t) => {
  const collector = await startCollector(t)
  const jwks = await startJwksServer(t)
  const jwksTraceparents: Array<string | undefined> = []
  jwks.setHandler((request, response) => {
    jwksTraceparents.push(request.headers.traceparent as string | undefined)
    const body = JSON.stringify({ keys: jwks.keys.map((key) => key.publicJwk) })
    response.writeHead(200, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(body) }).end(body)
  })
  // Keys from the JWKS only (no AUTH_JWT_KEY): the first token makes the key store fetch them.
  const api = await startApiProcess(t, {
    ...serviceEnv,
    AUTH_ISSUER: jwks.issuer,
    AUTH_JWKS_URL: jwks.jwksUrl,
    AUTH_JWKS_TIMEOUT_MS: '5000',
    OTEL_EXPORTER_OTLP_ENDPOINT: collector.url,
    OTEL_EXPORTER_OTLP_PROTOCOL: 'http/json',
    OTEL_BSP_SCHEDULE_DELAY: '100',
    OTEL_SERVICE_NAME: 'muejam-api-tracing-test'
  }, { testAuth: false })
  t.same(jwksTraceparents, [], 'no JWKS fetch before the first token')

  const traceId = randomBytes(16).toString('hex')
  const callerSpanId = randomBytes(8).toString('hex')
  const token = await jwks.sign({ sub: `user_2trcJwks${suffix}` })
  const me = await api.request({ path: '/v1/me', headers: { authorization: `Bearer ${token}`, traceparent: `00-${traceId}-${callerSpanId}-01` } })
  t.equal(me.status, 200, 'the token is accepted')
  t.equal(jwksTraceparents.length, 1, 'one JWKS fetch')

  const isJwksFetch = (span: CollectedSpan) => span.scope.includes('instrumentation-undici') &&
    span.attributes?.find(({ key }) => key === 'url.full')?.value.stringValue === jwks.jwksUrl
  const spans = await spansOf(collector.spans, traceId, (spans) =>
    spans.some((span) => span.kind === SPAN_KIND_SERVER) && spans.some(isJwksFetch))
  const server = spans.find((span) => span.kind === SPAN_KIND_SERVER)
  t.equal(server?.name, 'GET /v1/me', 'the request\'s server span')
  t.equal(server?.parentSpanId, callerSpanId, 'continuing the caller\'s trace')
  const fetches = spans.filter(isJwksFetch)
  const undiciSpans = collector.spans.filter((span) => span.scope.includes('instrumentation-undici')).map((span) => `${span.name} ${span.traceId}/${span.parentSpanId ?? ''}`)
  t.equal(fetches.length, 1, `one JWKS fetch span in the request's trace (undici spans: ${undiciSpans.join(', ')})`)
  const fetch = fetches[0]
  if (server === undefined || fetch === undefined) return
  t.equal(fetch.kind, SPAN_KIND_CLIENT, 'a client span')
  t.equal(fetch.name, 'GET')
  t.equal(fetch.attributes?.find(({ key }) => key === 'http.request.method')?.value.stringValue, 'GET')
  t.equal(Number(fetch.attributes?.find(({ key }) => key === 'http.response.status_code')?.value.intValue), 200)
  // Auth verifies in a hook, inside the request span: the first token's fetch is its child.
  t.equal(fetch.parentSpanId, server.spanId, 'a child of the request\'s server span')
  t.equal(jwksTraceparents[0], `00-${traceId}-${fetch.spanId}-01`, 'the JWKS request carries the fetch span as its traceparent')
})

t.test('without OTEL_* variables, nothing of OpenTelemetry is loaded and log lines carry no trace id', async (t) => {
  const recorder = moduleRecorder(t)
  const api = await startApiProcess(t, { ...serviceEnv, NODE_OPTIONS: recorder.nodeOptions })
  const story = await createPublishedStory(api, `user_2trcQuiet${suffix}`)
  const traceId = randomBytes(16).toString('hex')
  const read = await api.request({ path: `/v1/stories/${story.id}`, headers: { traceparent: `00-${traceId}-${randomBytes(8).toString('hex')}-01` } })
  t.equal(read.status, 200)
  await sleep(500)

  const loaded = recorder.loaded()
  t.ok(loaded.some((url) => url.includes('/node_modules/pg/')), 'the recorder saw the app\'s modules')
  t.same(loaded.filter((url) => OPENTELEMETRY_MODULE.test(url)), [], 'no OpenTelemetry module')
  const line = completedLine(api, '/v1/stories/:id')
  t.ok(line, 'the request\'s log line')
  t.notOk(line !== undefined && 'trace_id' in line, 'without trace_id')
  t.notOk(line !== undefined && 'span_id' in line, 'without span_id')
})
