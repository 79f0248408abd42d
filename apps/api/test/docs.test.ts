import { Validator } from '@seriousme/openapi-schema-validator'
import Fastify, { type FastifyInstance } from 'fastify'
import t from 'tap'
import docs from '../src/plugins/docs.js'
import { completeDocument } from '../src/plugins/openapi-document.js'
import { build, databaseEnv } from './helpers/build.js'
import { routesOfTree } from './helpers/fuzz/registered-routes.js'

interface Response {
  description: string
  headers?: Record<string, { $ref?: string }>
  content?: Record<string, { schema: Record<string, unknown> }>
}

interface Operation {
  operationId?: string
  summary?: string
  security?: unknown[]
  requestBody?: { content: Record<string, unknown> }
  responses: Record<string, Response>
}

interface Document {
  openapi: string
  info: { title: string, version: string }
  servers: Array<{ url: string }>
  paths: Record<string, Record<string, Operation>>
  components: { schemas: Record<string, unknown>, headers: Record<string, unknown>, securitySchemes: Record<string, unknown> }
}

const PUBLIC_URL = 'https://api.muejam.test'
const PROBLEM = { 'application/problem+json': { schema: { $ref: '#/components/schemas/Problem' } } }
const REQUIRED = [{ bearer: [] }]
const OPTIONAL = [{}, { bearer: [] }]

function operationsOf (document: Document): Array<{ key: string, operation: Operation }> {
  return Object.entries(document.paths).flatMap(([path, item]) =>
    Object.entries(item).map(([method, operation]) => ({ key: `${method.toUpperCase()} ${path}`, operation })))
}

const headerNames = (response: Response | undefined) => Object.keys(response?.headers ?? {}).sort()

t.test('the OpenAPI document', async (t) => {
  const app = await build(t, { ...await databaseEnv(t, 'docs'), PUBLIC_URL })
  const response = await app.inject('/docs/openapi.json')
  t.equal(response.statusCode, 200)
  t.match(response.headers['content-type'], /^application\/json/)
  const document = response.json() as Document
  const operations = operationsOf(document)

  t.test('is a valid OpenAPI 3.1 document, also served at /docs/json', async (t) => {
    t.equal(document.openapi, '3.1.0')
    const result = await new Validator().validate(document as unknown as Record<string, unknown>)
    t.same(result.errors, undefined, 'no validation errors')
    t.equal(result.valid, true)
    t.same((await app.inject('/docs/json')).json(), document)
    t.equal(document.info.title, 'muejam API')
    t.match(document.info.version, /^\d+\.\d+\.\d+/)
  })

  t.test('names PUBLIC_URL as its server', async (t) => {
    t.same(document.servers, [{ url: PUBLIC_URL }])
  })

  t.test('has a unique operationId on every operation', async (t) => {
    const ids = operations.map(({ key, operation }) => {
      t.match(operation.operationId, /^[a-z][A-Za-z]+$/, `${key} has a camelCase operationId`)
      return operation.operationId
    })
    t.equal(new Set(ids).size, ids.length, 'no two operations share one')
    t.same(Object.fromEntries(operations.map(({ key, operation }) => [key, operation.operationId])), {
      'GET /v1/me': 'getMe',
      'GET /v1/me/stories': 'listMyStories',
      'GET /v1/stories': 'listStories',
      'POST /v1/stories': 'createStory',
      'GET /v1/stories/{id}': 'getStory',
      'PATCH /v1/stories/{id}': 'updateStory',
      'DELETE /v1/stories/{id}': 'deleteStory',
      'GET /v1/stories/{id}/chapters': 'listChapters',
      'POST /v1/stories/{id}/chapters': 'appendChapter',
      'GET /v1/stories/{id}/chapters/{position}': 'getChapter',
      'PATCH /v1/stories/{id}/chapters/{position}': 'updateChapter',
      'DELETE /v1/stories/{id}/chapters/{position}': 'deleteChapter'
    })
  })

  t.test('refers every error response to one Problem schema, as application/problem+json', async (t) => {
    t.match(document.components.schemas.Problem, { type: 'object', required: ['type', 'title', 'status', 'detail', 'instance', 'code', 'request_id'] })
    for (const { key, operation } of operations) {
      for (const [status, answer] of Object.entries(operation.responses)) {
        if (Number(status) < 400) continue
        t.same(answer.content, PROBLEM, `${key} ${status}`)
        t.notMatch(answer.description, /^Default Response$/, `${key} ${status} says when it is answered`)
      }
    }
    const text = JSON.stringify(document)
    t.equal(text.split('Stable, snake_case reason').length - 1, 1, 'the problem schema is written once')
    t.ok(text.length < 80_000, `the document stays small (${text.length} bytes)`)
  })

  t.test('lists every status a route can answer, with its headers', async (t) => {
    for (const { key, operation } of operations) {
      const statuses = Object.keys(operation.responses).map(Number)
      for (const status of [400, 401, 429, 500, 503, 504]) t.ok(statuses.includes(status), `${key} documents ${status}`)
      const hasBody = operation.requestBody !== undefined
      t.equal(statuses.includes(413), hasBody, `${key} documents 413 exactly when it takes a body`)
      t.equal(statuses.includes(415), hasBody, `${key} documents 415 exactly when it takes a body`)
      for (const [status, answer] of Object.entries(operation.responses)) {
        t.ok(headerNames(answer).includes('RateLimit') && headerNames(answer).includes('RateLimit-Policy'), `${key} ${status} sends the rate-limit headers`)
      }
      t.ok(headerNames(operation.responses['429']).includes('Retry-After'), `${key} 429 sends Retry-After`)
      t.ok(headerNames(operation.responses['503']).includes('Retry-After'), `${key} 503 sends Retry-After`)
      t.ok(headerNames(operation.responses['401']).includes('WWW-Authenticate'), `${key} 401 sends WWW-Authenticate`)
    }
    for (const name of ['RateLimit', 'RateLimit-Policy', 'Retry-After', 'WWW-Authenticate', 'ETag', 'Location']) {
      t.match(document.components.headers[name], { description: String, schema: Object }, `components.headers.${name}`)
    }
  })

  t.test('documents Location on every 201 and ETag on the reads and writes of a story or a chapter', async (t) => {
    for (const { key, operation } of operations) {
      if (operation.responses['201'] !== undefined) t.ok(headerNames(operation.responses['201']).includes('Location'), `${key} 201 sends Location`)
    }
    for (const key of ['GET /v1/stories/{id}', 'PATCH /v1/stories/{id}', 'GET /v1/stories/{id}/chapters/{position}', 'PATCH /v1/stories/{id}/chapters/{position}']) {
      const operation = operations.find((entry) => entry.key === key)?.operation
      t.ok(headerNames(operation?.responses['200']).includes('ETag'), `${key} 200 sends ETag`)
      t.same(operation?.responses['200']?.headers?.ETag, { $ref: '#/components/headers/ETag' })
    }
    t.ok(headerNames(operations.find((entry) => entry.key === 'GET /v1/stories/{id}')?.operation.responses['304']).includes('ETag'), 'the 304 sends ETag')
  })

  t.test('declares each route\'s authentication', async (t) => {
    for (const { key, operation } of operations) {
      const writes = !key.startsWith('GET ') || key.startsWith('GET /v1/me')
      t.same(operation.security, writes ? REQUIRED : OPTIONAL, `${key} is ${writes ? 'required' : 'optional'}`)
    }
    t.same(document.components.securitySchemes.bearer, { type: 'http', scheme: 'bearer', bearerFormat: 'JWT' })
  })

  t.test('keeps the request schemas', async (t) => {
    const create = document.paths['/v1/stories']?.post as Operation & { requestBody: { content: Record<string, { schema: { additionalProperties: boolean, properties: Record<string, unknown> } }> } }
    t.equal(create.requestBody.content['application/json']?.schema.additionalProperties, false)
    t.match(create.requestBody.content['application/json']?.schema.properties.title, { type: 'string', minLength: 1, maxLength: 200 })
    t.match(document.paths['/v1/stories']?.get, { parameters: [{ name: 'limit', in: 'query' }, { name: 'cursor', in: 'query' }] })
  })

  t.test('describes exactly the routes the API serves', async (t) => {
    const documented = operations.map(({ key }) => key).sort()
    const served = routesOfTree(app.printRoutes({ commonPrefix: false }))
      .filter((route) => route.path.startsWith('/v1/') && route.method !== 'HEAD' && route.method !== 'OPTIONS')
      .map((route) => `${route.method} ${route.path}`)
      .sort()
    t.same(documented.filter((key) => !served.includes(key)), [], 'every documented operation is served')
    t.same(served.filter((key) => !documented.includes(key)), [], 'every served /v1 route is documented')
  })
})

t.test('the common error responses come from each route\'s settings', async (t) => {
  const app: FastifyInstance = Fastify()
  t.teardown(() => app.close())
  await app.register(docs, { version: '1.0.0', publicUrl: 'http://127.0.0.1:3000' })
  const reply = async () => ({})
  app.get('/open', { config: { auth: false, rateLimit: false, timeout: false }, schema: { operationId: 'open' } }, reply)
  app.get('/optional', { schema: { operationId: 'optional' } }, reply)
  app.post('/required', { config: { auth: 'required' }, schema: { operationId: 'required', body: { type: 'object' }, response: { 201: { type: 'object' }, 409: { type: 'object' } } } }, reply)
  await app.ready()
  const document = app.swagger() as unknown as Document
  const statuses = (path: string, method: string) => Object.keys(document.paths[path]?.[method]?.responses ?? {})
  t.same(statuses('/open', 'get'), ['200', '400', '500', '503'], 'no authentication, no limit, no deadline: no 401, 429 or 504')
  t.same(document.paths['/open']?.get?.security, [])
  t.same(headerNames(document.paths['/open']?.get?.responses['200']), [], 'no rate-limit headers on a route never limited')
  t.same(statuses('/optional', 'get'), ['200', '400', '401', '429', '500', '503', '504'])
  t.same(document.paths['/optional']?.get?.security, OPTIONAL)
  t.same(statuses('/required', 'post'), ['201', '400', '401', '409', '413', '415', '429', '500', '503', '504'], 'a body adds 413 and 415; the handler\'s 409 stays')
  t.same(document.paths['/required']?.post?.responses['409']?.content, PROBLEM, 'a declared error is a Problem too')
  t.same(document.paths['/required']?.post?.security, REQUIRED)
})

t.test('an operation no route serves fails the document', async (t) => {
  const document = { paths: { '/gone': { get: { responses: {} } } } }
  t.throws(() => completeDocument(document, new Map(), 'optional'), /GET \/gone, which no route serves/)
})
