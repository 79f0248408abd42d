import { Writable } from 'node:stream'
import Fastify, { type InjectOptions } from 'fastify'
import t, { type Test } from 'tap'
import problem, { createProblemError, isProblemError, type ProblemBody, type ProblemOptions } from '../src/index.js'

const PROBLEM_JSON = 'application/problem+json; charset=utf-8'

const RateLimited = createProblemError({
  code: 'rate_limited',
  statusCode: 429,
  message: (limit: number, retryAfterS: number) => `Too many requests: the limit is ${limit}; retry in ${retryAfterS} s.`,
  headers: (_limit, retryAfterS) => ({ 'retry-after': String(retryAfterS) }),
  extensions: (limit, retryAfterS) => ({ limit, retry_after: retryAfterS })
})

const Unavailable = createProblemError({
  code: 'db_unavailable',
  statusCode: 503,
  message: () => 'The database is busy or unreachable; try again shortly.',
  headers: () => ({ 'retry-after': '1' })
})

const Poisoned = createProblemError({
  code: 'poisoned',
  statusCode: 409,
  message: () => 'Poisoned.',
  extensions: () => ({ status: 200, code: 'fine', type: 'about:blank', request_id: 'forged', note: 'kept' })
})

interface Built {
  app: ReturnType<typeof Fastify>
  logs: Array<Record<string, unknown>>
}

async function build (t: Test, options: ProblemOptions = {}): Promise<Built> {
  const logs: Array<Record<string, unknown>> = []
  const stream = new Writable({ write (chunk, _encoding, done) { logs.push(JSON.parse(String(chunk))); done() } })
  const app = Fastify({ logger: { level: 'info', stream } })
  t.teardown(() => app.close())
  await app.register(problem, options)
  app.get('/limited', async () => { throw new RateLimited(100, 30) })
  app.get('/unavailable', async () => { throw new Unavailable() })
  app.get('/poisoned', async () => { throw new Poisoned() })
  app.get('/boom', async () => { throw new Error('select secret from internals; password=hunter2') })
  app.get('/boom-with-code', async () => { throw Object.assign(new Error('password=hunter2'), { code: 'leaky_code' }) })
  app.get('/coded-503', async () => { throw Object.assign(new Error('password=hunter2'), { statusCode: 503, code: 'ERR_UPSTREAM' }) })
  app.get('/string', async () => {
    const notAnError: unknown = 'a string'
    throw notAnError
  })
  app.get('/plain-client-error', async () => { throw Object.assign(new Error('Nope.'), { statusCode: 409, code: 'ERR_SOMETHING' }) })
  app.get('/emoji', async () => { throw Object.assign(new Error(`${'x'.repeat(198)}\u{1F600}${'y'.repeat(10)}`), { statusCode: 400, code: 'too_long' }) })
  app.get('/closed', async () => { throw Object.assign(new Error('The client left.'), { statusCode: 499, code: 'ERR_CLOSED' }) })
  app.get('/long', async () => { throw Object.assign(new Error('x'.repeat(5000)), { statusCode: 400, code: 'too_long' }) })
  app.get('/upstream', async () => {
    // An HTTP client's error: its response headers must not reach our client.
    throw Object.assign(new Error('upstream said no'), { statusCode: 502, code: 'ERR_UPSTREAM', headers: { 'set-cookie': 'upstream=1' } })
  })
  app.post('/echo', {
    schema: { body: { type: 'object', required: ['title'], additionalProperties: false, properties: { title: { type: 'string', maxLength: 3 } } } }
  }, async (request) => request.body)
  app.post('/many', {
    schema: { body: { type: 'object', properties: Object.fromEntries(Array.from({ length: 30 }, (_, i) => [`f${i}`, { type: 'integer' }])) } }
  }, async (request) => request.body)
  app.get('/items/:id', { schema: { params: { type: 'object', properties: { id: { type: 'integer' } } } } }, async () => ({}))
  return { app, logs }
}

t.test('a thrown problem error keeps its status, code, message, headers and extensions', async (t) => {
  const { app, logs } = await build(t)
  const response = await app.inject({ url: '/limited', headers: { 'request-id': 'ignored' } })
  t.equal(response.statusCode, 429)
  t.equal(response.headers['content-type'], PROBLEM_JSON)
  t.equal(response.headers['retry-after'], '30')
  t.same(response.json(), {
    type: 'urn:problem:rate_limited',
    title: 'Too Many Requests',
    status: 429,
    detail: 'Too many requests: the limit is 100; retry in 30 s.',
    instance: '/limited',
    code: 'rate_limited',
    request_id: response.json().request_id,
    limit: 100,
    retry_after: 30
  })
  t.match(response.json().request_id, /^req-/, 'the request id Fastify assigned')
  t.notOk(logs.some((line) => line.level === 50), '4xx are not logged as errors')
})

t.test('the request id is the one Fastify gives the request', async (t) => {
  const app = Fastify({ genReqId: (request) => String(request.headers['x-request-id'] ?? 'generated') })
  t.teardown(() => app.close())
  await app.register(problem)
  const response = await app.inject({ url: '/nowhere', headers: { 'x-request-id': 'abc-123' } })
  t.equal(response.json().request_id, 'abc-123')
})

t.test('typeBase prefixes every type', async (t) => {
  const { app } = await build(t, { typeBase: 'https://errors.example/' })
  t.equal((await app.inject('/limited')).json().type, 'https://errors.example/rate_limited')
  t.equal((await app.inject('/nowhere')).json().type, 'https://errors.example/route_not_found')
})

t.test('a deliberate 5xx keeps its code, message and headers, and is logged', async (t) => {
  const { app, logs } = await build(t)
  const response = await app.inject('/unavailable')
  t.equal(response.statusCode, 503)
  t.equal(response.headers['retry-after'], '1')
  t.match(response.json(), { status: 503, code: 'db_unavailable', detail: 'The database is busy or unreachable; try again shortly.' })
  t.ok(logs.some((line) => line.level === 50 && line.msg === 'request failed'))
})

t.test('extensions cannot replace the standard members', async (t) => {
  const { app } = await build(t)
  const response = await app.inject('/poisoned')
  const body = response.json()
  t.equal(response.statusCode, 409)
  t.match(body, { status: 409, code: 'poisoned', type: 'urn:problem:poisoned', note: 'kept' })
  t.not(body.request_id, 'forged')
})

t.test('any other error is a 500 that says nothing of its cause, and is logged with it', async (t) => {
  const { app, logs } = await build(t)
  for (const url of ['/boom', '/boom-with-code']) {
    const response = await app.inject(url)
    t.equal(response.statusCode, 500, url)
    t.equal(response.headers['content-type'], PROBLEM_JSON)
    t.match(response.json(), { type: 'urn:problem:internal_error', title: 'Internal Server Error', status: 500, code: 'internal_error', detail: 'The server could not complete the request.' })
    t.notMatch(response.body, 'hunter2')
    t.notMatch(response.body, 'plugin.test')
    t.notOk('stack' in response.json())
  }
  const failures = logs.filter((line) => line.level === 50)
  t.equal(failures.length, 2)
  t.match(failures[0], { msg: 'request failed', err: { message: 'select secret from internals; password=hunter2' } }, 'the log keeps the cause')
})

t.test('a 5xx status without a problem code keeps its status, not its message or headers', async (t) => {
  const { app } = await build(t)
  const coded = await app.inject('/coded-503')
  t.equal(coded.statusCode, 503)
  t.match(coded.json(), { status: 503, code: 'internal_error', detail: 'The server could not complete the request.' })
  const upstream = await app.inject('/upstream')
  t.equal(upstream.statusCode, 502)
  t.equal(upstream.headers['set-cookie'], undefined)
  t.notMatch(upstream.body, 'upstream said no')
})

t.test('a thrown non-error is a 500', async (t) => {
  const { app } = await build(t)
  const response = await app.inject('/string')
  t.equal(response.statusCode, 500)
  t.match(response.json(), { code: 'internal_error' })
})

t.test('debug puts the stack into 5xx bodies, and only those', async (t) => {
  const { app } = await build(t, { debug: true })
  t.match((await app.inject('/boom')).json().stack, /plugin\.test\.ts/)
  t.match((await app.inject('/unavailable')).json().stack, /plugin\.test\.ts/)
  t.equal((await app.inject('/string')).json().stack, 'a string')
  t.notOk('stack' in (await app.inject('/limited')).json())
})

t.test('a 4xx error that is not a problem error keeps its message under a code named after its status', async (t) => {
  const { app } = await build(t)
  const response = await app.inject('/plain-client-error')
  t.equal(response.statusCode, 409)
  t.match(response.json(), { status: 409, code: 'conflict', type: 'urn:problem:conflict', detail: 'Nope.' })
})

t.test('a status Node has no phrase for gets the title and code of its class', async (t) => {
  const { app } = await build(t)
  const response = await app.inject('/closed')
  t.equal(response.statusCode, 499)
  t.match(response.json(), { title: 'Client Error', code: 'client_error', detail: 'The client left.' })
})

t.test('the detail and the instance are bounded', async (t) => {
  const { app } = await build(t)
  const long = (await app.inject('/long')).json() as ProblemBody
  t.equal(long.detail.length, 200)
  t.match(long.detail, /…$/)
  const emoji = (await app.inject('/emoji')).json() as ProblemBody
  t.equal(emoji.detail, `${'x'.repeat(198)}…`, 'no half surrogate pair is left at the cut')
  const path = `/${'a'.repeat(5000)}`
  const missing = (await app.inject(path)).json() as ProblemBody
  t.equal(missing.instance, path.slice(0, 200), 'the instance is the start of the path, still a URI reference')
  t.equal(missing.detail.length, 200)
})

t.test('an unknown route is a 404 route_not_found without the query string', async (t) => {
  const { app } = await build(t)
  const response = await app.inject({ method: 'DELETE', url: '/nowhere?token=secret' })
  t.equal(response.statusCode, 404)
  t.equal(response.headers['content-type'], PROBLEM_JSON)
  t.same(response.json(), {
    type: 'urn:problem:route_not_found',
    title: 'Not Found',
    status: 404,
    detail: 'No route for DELETE /nowhere',
    instance: '/nowhere',
    code: 'route_not_found',
    request_id: response.json().request_id
  })
})

t.test('notFound: false leaves unknown routes to the host', async (t) => {
  const app = Fastify()
  t.teardown(() => app.close())
  await app.register(problem, { notFound: false })
  app.setNotFoundHandler((_request, reply) => reply.code(404).send('host'))
  app.get('/boom', async () => { throw new Error('x') })
  t.equal((await app.inject('/nowhere')).body, 'host')
  t.equal((await app.inject('/boom')).headers['content-type'], PROBLEM_JSON)
})

t.test('validation failures list each field', async (t) => {
  const { app } = await build(t)
  const response = await app.inject({ method: 'POST', url: '/echo', payload: { title: 'long', extra: 1 } })
  t.equal(response.statusCode, 400)
  const body = response.json()
  t.match(body, { type: 'urn:problem:validation_failed', code: 'validation_failed', detail: 'The request is invalid; see errors.' })
  t.same(body.errors, [{ field: 'body.title', message: 'must NOT have more than 3 characters' }], 'Fastify removes additional properties and stops at the first error by default')
  const missing = await app.inject({ method: 'POST', url: '/echo', payload: {} })
  t.same(missing.json().errors, [{ field: 'body.title', message: 'must have required property \'title\'' }])
  const param = await app.inject('/items/abc')
  t.same(param.json().errors, [{ field: 'params.id', message: 'must be integer' }])
  t.notOk('errors_omitted' in param.json())
})

t.test('a long validation list is cut at 20 entries, with the count of the rest', async (t) => {
  const app = Fastify({ ajv: { customOptions: { allErrors: true } } })
  t.teardown(() => app.close())
  await app.register(problem)
  app.post('/many', {
    schema: { body: { type: 'object', properties: Object.fromEntries(Array.from({ length: 30 }, (_, i) => [`${'\u0001'.repeat(100)}${i}`, { type: 'integer' }])) } }
  }, async (request) => request.body)
  const payload = Object.fromEntries(Array.from({ length: 30 }, (_, i) => [`${'\u0001'.repeat(100)}${i}`, 'x']))
  const response = await app.inject({ method: 'POST', url: '/many', payload })
  const body = response.json()
  t.equal(response.statusCode, 400)
  t.equal(body.errors.length, 20)
  t.equal(body.errors_omitted, 10)
  for (const error of body.errors) t.ok(error.field.length <= 64, 'each field is bounded')
  t.ok(Buffer.byteLength(response.body) < 16 * 1024, `the body stays under 16 KiB (${Buffer.byteLength(response.body)} bytes)`)
})

t.test('validation errors from a custom validator with bare entries still name each one', async (t) => {
  const app = Fastify()
  t.teardown(() => app.close())
  await app.register(problem)
  app.setValidatorCompiler(() => () => ({ error: [{}, { message: 'is too odd', instancePath: '/n' }] as never }))
  app.post('/custom', { schema: { body: { type: 'object' } } }, async () => ({}))
  const response = await app.inject({ method: 'POST', url: '/custom', payload: { n: 3 } })
  t.equal(response.statusCode, 400)
  t.same(response.json().errors, [{ field: 'body', message: 'is invalid' }, { field: 'body.n', message: 'is too odd' }])
})

t.test('Fastify\'s own client errors get readable codes', async (t) => {
  const app = Fastify({ bodyLimit: 100 })
  t.teardown(() => app.close())
  await app.register(problem)
  app.post('/echo', async (request) => request.body)
  const cases: Array<[string, InjectOptions, number, string]> = [
    ['malformed JSON', { method: 'POST', url: '/echo', headers: { 'content-type': 'application/json' }, payload: '{"title":' }, 400, 'malformed_json'],
    ['an empty JSON body', { method: 'POST', url: '/echo', headers: { 'content-type': 'application/json' }, payload: '' }, 400, 'malformed_json'],
    ['an unsupported media type', { method: 'POST', url: '/echo', headers: { 'content-type': 'text/csv' }, payload: 'a,b' }, 415, 'unsupported_media_type'],
    ['a body over the limit', { method: 'POST', url: '/echo', headers: { 'content-type': 'application/json' }, payload: JSON.stringify({ a: 'x'.repeat(200) }) }, 413, 'body_too_large'],
    ['a Content-Length that lies', { method: 'POST', url: '/echo', headers: { 'content-type': 'application/json', 'content-length': '5' }, payload: '{"a":"bcdef"}' }, 400, 'invalid_content_length']
  ]
  for (const [what, request, status, code] of cases) {
    const response = await app.inject(request)
    t.equal(response.statusCode, status, what)
    t.equal(response.headers['content-type'], PROBLEM_JSON, what)
    t.equal(response.json().code, code, what)
  }
})

t.test('mapError turns a foreign error into a problem error, with its headers', async (t) => {
  const InvalidInput = createProblemError({ code: 'invalid_input', statusCode: 400, message: () => 'A value in the request is not valid.', headers: () => ({ 'x-hint': 'check-values' }) })
  const seen: unknown[] = []
  const app = Fastify()
  t.teardown(() => app.close())
  await app.register(problem, {
    debug: true,
    mapError: (error) => {
      seen.push(error)
      return (error as { code?: string }).code === '22P02' ? new InvalidInput() : undefined
    }
  })
  app.get('/data', async () => { throw Object.assign(new Error('invalid input syntax for type uuid: "x"'), { code: '22P02' }) })
  app.get('/other', async () => { throw Object.assign(new Error('syntax error'), { code: '42601' }) })
  app.get('/limited', async () => { throw new RateLimited(1, 2) })
  const mapped = await app.inject('/data')
  t.equal(mapped.statusCode, 400)
  t.equal(mapped.headers['x-hint'], 'check-values')
  t.match(mapped.json(), { code: 'invalid_input', detail: 'A value in the request is not valid.' })
  t.notMatch(mapped.body, 'uuid')
  const other = await app.inject('/other')
  t.equal(other.statusCode, 500)
  t.match(other.json().stack, /syntax error/, 'debug shows the stack of what was thrown')
  t.equal((await app.inject('/limited')).statusCode, 429)
  t.equal(seen.length, 2, 'problem errors are not given to mapError')
  t.ok(seen.every((error) => !isProblemError(error)))
})

t.test('contexts created after the registration inherit the handler; those created before keep Fastify\'s', async (t) => {
  const app = Fastify()
  t.teardown(() => app.close())
  await app.register(async (child) => {
    child.get('/child', async () => { throw new RateLimited(1, 1) })
  }, { prefix: '/v1' })
  await app.register(problem)
  await app.register(async (child) => {
    child.get('/later', async () => { throw new RateLimited(1, 1) })
  }, { prefix: '/v1' })
  t.equal((await app.inject('/v1/later')).json().code, 'rate_limited')
  const early = await app.inject('/v1/child')
  t.equal(early.statusCode, 429)
  t.match(early.headers['content-type'], /^application\/json/, 'registered before the renderer: Fastify\'s default handler')
  t.equal((await app.inject('/v1/nowhere')).json().code, 'route_not_found')
})

t.test('bad options are refused at registration', async (t) => {
  const bad: Array<[string, ProblemOptions, RegExp]> = [
    ['an empty typeBase', { typeBase: '' }, /"typeBase": must be a non-empty string/],
    ['a numeric typeBase', { typeBase: 1 as never }, /"typeBase": must be a string/],
    ['a string debug', { debug: 'yes' as never }, /"debug": must be true or false/],
    ['an object mapError', { mapError: {} as never }, /"mapError": must be a function/],
    ['a numeric notFound', { notFound: 0 as never }, /"notFound": must be true or false/]
  ]
  for (const [what, options, message] of bad) {
    const app = Fastify()
    t.teardown(() => app.close())
    app.register(problem, options)
    await t.rejects(async () => { await app.ready() }, { code: 'MUEJAM_PROBLEM_INVALID_OPTION', message }, what)
  }
})
