import Fastify from 'fastify'
import t from 'tap'
import problem from '@muejam/problem'
import validation from '../src/plugins/validation.js'
import { problemOptions } from '../src/problem.js'
import methodNotAllowed from '../src/routes/method-not-allowed.js'
import { requestIdFrom } from '@muejam/observability'

async function build (t: { teardown(fn: () => unknown): void }, debug = false) {
  const app = Fastify({ genReqId: requestIdFrom })
  t.teardown(() => app.close())
  await app.register(problem, problemOptions(debug))
  // The API's not-found handler (404, or 405 for a known path).
  await app.register(methodNotAllowed)
  // The API's validator, which reports every violation rather than the first.
  await app.register(validation)
  app.get('/boom', async () => { throw new Error('select secret from internals; password=hunter2') })
  app.get('/teapot', async () => {
    throw Object.assign(new Error('Short and stout.'), { statusCode: 418, code: 'teapot', headers: { 'retry-after': '7' }, extensions: { handle: 'spout' } })
  })
  app.get('/plain-client-error', async () => { throw Object.assign(new Error('Nope.'), { statusCode: 409, code: 'ERR_SOMETHING' }) })
  app.post('/echo', { schema: { body: { type: 'object', required: ['title'], additionalProperties: false, properties: { title: { type: 'string', maxLength: 3 } } } } }, async (request) => request.body)
  return app
}

t.test('an unknown route answers a 404 problem with the request id', async (t) => {
  const app = await build(t)
  const response = await app.inject({ url: '/nowhere?x=1', headers: { 'x-request-id': 'abc-123' } })
  t.equal(response.statusCode, 404)
  t.match(response.headers['content-type'], /^application\/problem\+json/)
  t.same(response.json(), {
    type: 'urn:muejam:problem:route_not_found',
    title: 'Not Found',
    status: 404,
    detail: 'No route for GET /nowhere',
    instance: '/nowhere',
    code: 'route_not_found',
    request_id: 'abc-123'
  })
})

t.test('a thrown error answers 500 without its message or stack', async (t) => {
  const app = await build(t)
  const response = await app.inject('/boom')
  t.equal(response.statusCode, 500)
  const body = response.json()
  t.match(body, { status: 500, code: 'internal_error', detail: 'The server could not complete the request.' })
  t.type(body.request_id, 'string')
  t.notMatch(response.body, 'hunter2')
  t.notMatch(response.body, 'problem.test')
  t.notOk('stack' in body)
})

t.test('DEBUG adds the stack to 5xx bodies', async (t) => {
  const app = await build(t, true)
  const body = (await app.inject('/boom')).json()
  t.match(body.stack, /problem\.test/)
})

t.test('a client error keeps its status, code, headers and extensions', async (t) => {
  const app = await build(t)
  const response = await app.inject('/teapot')
  t.equal(response.statusCode, 418)
  t.equal(response.headers['retry-after'], '7')
  t.match(response.json(), { code: 'teapot', detail: 'Short and stout.', handle: 'spout', title: 'I\'m a Teapot' })
  const plain = await app.inject('/plain-client-error')
  t.match(plain.json(), { status: 409, code: 'conflict', detail: 'Nope.' })
})

t.test('validation failures list each field', async (t) => {
  const app = await build(t)
  const response = await app.inject({ method: 'POST', url: '/echo', payload: { title: 'long', extra: 1 } })
  t.equal(response.statusCode, 400)
  const body = response.json()
  t.equal(body.code, 'validation_failed')
  t.same(body.errors, [
    { field: 'body.extra', message: 'must NOT have additional properties' },
    { field: 'body.title', message: 'must NOT have more than 3 characters' }
  ])
})

t.test('malformed JSON and unsupported media types are named', async (t) => {
  const app = await build(t)
  const malformed = await app.inject({ method: 'POST', url: '/echo', headers: { 'content-type': 'application/json' }, payload: '{"title":' })
  t.match(malformed.json(), { status: 400, code: 'malformed_json' })
  const media = await app.inject({ method: 'POST', url: '/echo', headers: { 'content-type': 'text/csv' }, payload: 'a,b' })
  t.match(media.json(), { status: 415, code: 'unsupported_media_type' })
})

t.test('a forged request id is replaced, a sane one kept', async (t) => {
  const app = await build(t)
  const forged = await app.inject({ url: '/nowhere', headers: { 'x-request-id': 'a'.repeat(1000) } })
  t.match(forged.json().request_id, /^[0-9a-f-]{36}$/, 'an over-long id is replaced by a UUID, not truncated')
  const injected = await app.inject({ url: '/nowhere', headers: { 'x-request-id': 'bad id\r\nx: y' } })
  t.match(injected.json().request_id, /^[0-9a-f-]{36}$/)
})
