import t from 'tap'
import { createProblemError, isProblemCode, isProblemError, InvalidOptionError, type ProblemError } from '../src/index.js'

const RateLimited = createProblemError({
  code: 'rate_limited',
  statusCode: 429,
  message: (limit: number, retryAfterS: number) => `Too many requests: the limit is ${limit}; retry in ${retryAfterS} s.`,
  headers: (_limit, retryAfterS) => ({ 'retry-after': String(retryAfterS) }),
  extensions: (limit, retryAfterS) => ({ limit, retry_after: retryAfterS })
})

const Gone = createProblemError({ code: 'story_gone', statusCode: 410, message: () => 'The story was deleted.' })

t.test('an instance carries the status, the snake_case code, the message, headers and extensions', async (t) => {
  const error = new RateLimited(100, 30)
  t.equal(error.statusCode, 429)
  t.equal(error.code, 'rate_limited', '@fastify/error upper-cases codes; the contract keeps snake_case')
  t.equal(error.message, 'Too many requests: the limit is 100; retry in 30 s.')
  t.same(error.headers, { 'retry-after': '30' })
  t.same(error.extensions, { limit: 100, retry_after: 30 })
  t.equal(error.name, 'RateLimitedError')
  t.equal(String(error), 'RateLimitedError [rate_limited]: Too many requests: the limit is 100; retry in 30 s.')
  t.equal(RateLimited.code, 'rate_limited')
  t.equal(RateLimited.statusCode, 429)
})

t.test('an instance is an Error, an instance of its class and of nothing else', async (t) => {
  const error = new RateLimited(1, 1)
  t.ok(error instanceof Error)
  t.ok(error instanceof RateLimited)
  t.notOk(error instanceof Gone)
  t.notOk(new Gone() instanceof RateLimited)
  t.match(error.stack, /problem-error\.test\.ts/, 'the stack starts where the error was made')
  t.notMatch(error.stack?.split('\n')[1], /problem-error\.(ts|js):/, 'not inside the factory')
})

t.test('without headers or extensions functions the instance has neither', async (t) => {
  const error = new Gone()
  t.equal(error.headers, undefined)
  t.equal(error.extensions, undefined)
  t.notOk('headers' in error)
  t.equal(error.name, 'StoryGoneError')
})

t.test('a last { cause } argument becomes the cause and is not passed to the functions', async (t) => {
  const cause = new Error('ECONNREFUSED')
  const seen: unknown[][] = []
  const Unavailable = createProblemError({
    code: 'db_unavailable',
    statusCode: 503,
    name: 'DbUnavailableError',
    message: (retryAfterS: number) => { seen.push([retryAfterS]); return 'The database is busy.' },
    headers: (retryAfterS) => ({ 'retry-after': String(retryAfterS) })
  })
  const error = new Unavailable(2, { cause })
  t.equal(error.cause, cause)
  t.same(seen, [[2]])
  t.same(error.headers, { 'retry-after': '2' })
  t.equal(error.name, 'DbUnavailableError')
  t.equal(new Unavailable(2).cause, undefined)
})

t.test('an object argument with more than a cause is an argument, not options', async (t) => {
  const Described = createProblemError({
    code: 'invalid_story',
    statusCode: 422,
    message: (story: { cause: string, title: string }) => `${story.title}: ${story.cause}`
  })
  const error = new Described({ cause: 'too long', title: 'T' })
  t.equal(error.message, 'T: too long')
  t.equal(error.cause, undefined)
})

t.test('a bad spec is refused with MUEJAM_PROBLEM_INVALID_OPTION', async (t) => {
  const message = () => 'm'
  const bad: Array<[string, () => unknown, RegExp]> = [
    ['no spec', () => createProblemError(null as never), /"spec"/],
    ['an upper-case code', () => createProblemError({ code: 'RATE_LIMITED', statusCode: 429, message }), /"code": must be snake_case/],
    ['a code with a dash', () => createProblemError({ code: 'rate-limited', statusCode: 429, message }), /"code"/],
    ['a 2xx status', () => createProblemError({ code: 'ok', statusCode: 200, message }), /"statusCode": must be an integer from 400 to 599/],
    ['a 600 status', () => createProblemError({ code: 'ok', statusCode: 600, message }), /"statusCode"/],
    ['a fractional status', () => createProblemError({ code: 'ok', statusCode: 400.5, message }), /"statusCode"/],
    ['a string message', () => createProblemError({ code: 'ok', statusCode: 400, message: 'm' as never }), /"message"/],
    ['string headers', () => createProblemError({ code: 'ok', statusCode: 400, message, headers: 'x' as never }), /"headers"/],
    ['object extensions', () => createProblemError({ code: 'ok', statusCode: 400, message, extensions: {} as never }), /"extensions"/],
    ['an empty name', () => createProblemError({ code: 'ok', statusCode: 400, message, name: '' }), /"name"/]
  ]
  for (const [what, make, reason] of bad) {
    t.throws(make, { code: 'MUEJAM_PROBLEM_INVALID_OPTION', message: reason }, what)
    try { make() } catch (error) { t.ok(error instanceof InvalidOptionError && error instanceof TypeError, `${what}: a TypeError`) }
  }
})

t.test('isProblemError accepts any error meeting the contract, however it was built', async (t) => {
  t.ok(isProblemError(new RateLimited(1, 1)))
  t.ok(isProblemError(Object.assign(new Error('x'), { statusCode: 404, code: 'story_not_found' })))
  t.ok(isProblemError(Object.assign(new Error('x'), { statusCode: 503, code: 'db_unavailable', headers: { 'retry-after': '1' }, extensions: { a: 1 } })))
  const refused: Array<[string, unknown]> = [
    ['a plain object', { statusCode: 404, code: 'not_found', message: 'x' }],
    ['null', null],
    ['a string', 'rate_limited'],
    ['no status', Object.assign(new Error('x'), { code: 'not_found' })],
    ['a 3xx status', Object.assign(new Error('x'), { statusCode: 302, code: 'found' })],
    ['a status as a string', Object.assign(new Error('x'), { statusCode: '404', code: 'not_found' })],
    ['a Fastify code', Object.assign(new Error('x'), { statusCode: 413, code: 'FST_ERR_CTP_BODY_TOO_LARGE' })],
    ['a Node code', Object.assign(new Error('x'), { statusCode: 500, code: 'ECONNREFUSED' })],
    ['no code', Object.assign(new Error('x'), { statusCode: 400 })],
    ['headers with a number', Object.assign(new Error('x'), { statusCode: 429, code: 'rate_limited', headers: { 'retry-after': 1 } })],
    ['headers as an array', Object.assign(new Error('x'), { statusCode: 429, code: 'rate_limited', headers: ['retry-after'] })],
    ['extensions as a string', Object.assign(new Error('x'), { statusCode: 429, code: 'rate_limited', extensions: 'limit' })]
  ]
  for (const [what, value] of refused) t.notOk(isProblemError(value), what)
})

t.test('isProblemError narrows to the contract', async (t) => {
  const thrown: unknown = new RateLimited(5, 6)
  if (!isProblemError(thrown)) throw new Error('expected a problem error')
  const narrowed: ProblemError = thrown
  t.equal(narrowed.statusCode, 429)
  t.equal(narrowed.extensions?.retry_after, 6)
})

t.test('isProblemCode accepts snake_case only', async (t) => {
  for (const code of ['a', 'rate_limited', 'token_v2', 'x1_y2']) t.ok(isProblemCode(code), code)
  for (const code of ['', '_a', 'a_', 'a__b', '1a', 'A', 'rate-limited', 'rate limited', 42]) t.notOk(isProblemCode(code), String(code))
})

t.test('constructor arguments are type-checked against the spec', async (t) => {
  // @ts-expect-error the limit is a number
  t.ok(new RateLimited('100', 30))
  // @ts-expect-error the retry delay is missing
  t.ok(new RateLimited(100))
  const typed: 429 = new RateLimited(1, 2).statusCode
  t.equal(typed, 429)
  // @ts-expect-error Gone takes no argument but the options
  t.ok(new Gone(1))
})
