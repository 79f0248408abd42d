import cors from '@fastify/cors'
import { createTestRedis } from '@muejam/testing/redis'
import Fastify, { type FastifyInstance } from 'fastify'
import fp from 'fastify-plugin'
import t from 'tap'
import rateLimit from '../src/index.js'
import { type HttpResponse, send } from './helpers/http.js'

/*
 * Requests that something answers before any route's limit runs: an auth plugin refusing a
 * token in its onRequest hook, the router finding no route, a CORS plugin answering a
 * preflight in its own hook. On a real server with real Redis, each client on an address of
 * its own (127.0.0.x).
 */

const ORIGIN = 'https://app.example.test'
const MAX = 5

class TokenRefusedError extends Error {
  readonly statusCode = 401
  readonly code = 'token_refused'
}

/**
 * Stands in for a bearer-token auth plugin: `Bearer valid:<user>` signs in; any other token
 * is refused with a 401 in onRequest, before the route's limit. The refusal is wired the way
 * a host wires it: the failed attempt is first counted with `app.rateLimit.consume`, whose
 * 429 replaces the 401 once the client's anonymous budget is spent.
 */
const bearerAuth = fp(async (app: FastifyInstance) => {
  app.decorateRequest('auth', null)
  app.addHook('onRequest', (request, reply, done) => {
    const header = request.headers.authorization
    if (header === undefined) return done()
    const userId = /^Bearer valid:(\w+)$/.exec(header)?.[1]
    if (userId !== undefined) {
      (request as unknown as { auth: unknown }).auth = { userId, sessionId: 'sess_1', claims: {} }
      return done()
    }
    app.rateLimit.consume(request, reply).then(() => done(new TokenRefusedError('The token is not valid.')), done)
  })
}, { name: 'bearer-auth' })

/** The plugins in the order a host registers them, listening on a real port. */
async function start (t: Parameters<typeof createTestRedis>[0], label: string) {
  const redis = await createTestRedis(t, label)
  const app = Fastify()
  t.teardown(() => app.close())
  app.setErrorHandler((error: Error & { statusCode?: number, code?: string }, _request, reply) => {
    reply.code(error.statusCode ?? 500).type('application/problem+json').send({ status: error.statusCode ?? 500, code: error.code })
  })
  // CORS answers preflights in its own onRequest hook, before any route's limit: count them first.
  app.addHook('onRequest', function limitPreflight (request, reply, done) {
    if (request.method === 'OPTIONS') app.rateLimit.onRequest.call(this, request, reply, done)
    else done()
  })
  await app.register(cors, { origin: [ORIGIN] })
  await app.register(bearerAuth)
  await app.register(rateLimit, { redis: redis.url, keyPrefix: redis.prefix, max: MAX, maxAuthenticated: 50 })
  app.get('/things', async () => ({ ok: true }))
  await app.listen({ host: '127.0.0.1', port: 0 })
  const { port } = app.server.address() as { port: number }
  return { base: `http://127.0.0.1:${port}`, redis }
}

const statuses = (responses: HttpResponse[]) => responses.map((response) => response.status)
const remainings = (responses: HttpResponse[]) => responses.map((response) => response.headers['x-ratelimit-remaining'])
const codes = (responses: HttpResponse[]) => responses.map((response) => (JSON.parse(response.body) as { code?: string }).code)

async function sequence (count: number, request: () => Promise<HttpResponse>): Promise<HttpResponse[]> {
  const responses: HttpResponse[] = []
  for (let n = 0; n < count; n++) responses.push(await request())
  return responses
}

t.test(`with max ${MAX}, twelve requests with a forged token get five 401s, then 429s with Retry-After; a valid token from the same address still passes`, async (t) => {
  const { base, redis } = await start(t, 'forged-token')
  const localAddress = '127.0.0.2'
  const forged = await sequence(12, () => send(`${base}/things`, { headers: { authorization: 'Bearer forged' }, localAddress }))

  t.same(statuses(forged), [...Array(5).fill(401), ...Array(7).fill(429)])
  t.same(codes(forged), [...Array(5).fill('token_refused'), ...Array(7).fill('rate_limited')])
  t.same(remainings(forged), ['4', '3', '2', '1', '0', ...Array(7).fill('0')], 'each failure counted, and the 401s say so')
  for (const response of forged) {
    t.equal(response.headers['x-ratelimit-limit'], String(MAX))
    t.equal(response.headers['ratelimit-policy'], `"default";q=${MAX};w=60`, 'the anonymous budget')
  }
  for (const response of forged.slice(5)) {
    const retryAfter = response.headers['retry-after']
    t.ok(Number(retryAfter) >= 1 && Number(retryAfter) <= 60, `Retry-After ${retryAfter} is within the window`)
    t.equal(retryAfter, response.headers['x-ratelimit-reset'])
  }
  t.equal(await redis.client.zcard(`${redis.prefix}default:ip:${localAddress}`), MAX, 'the five admitted failures are in the address\'s log; the refused ones are not')

  const valid = await send(`${base}/things`, { headers: { authorization: 'Bearer valid:alice' }, localAddress })
  t.equal(valid.status, 200, 'a valid token is not refused for the failures of others at its address')
  t.equal(valid.headers['ratelimit-policy'], '"default";q=50;w=60', 'counted by its user')
  t.equal(valid.headers['x-ratelimit-remaining'], '49')
  const anonymous = await send(`${base}/things`, { localAddress })
  t.equal(anonymous.status, 429, 'the address itself has spent its budget')
})

t.test('unknown routes and CORS preflights count against the client address\'s budget', async (t) => {
  const { base, redis } = await start(t, 'not-found-preflight')
  const localAddress = '127.0.0.3'
  const preflight = () => send(`${base}/things`, {
    method: 'OPTIONS', headers: { origin: ORIGIN, 'access-control-request-method': 'GET' }, localAddress
  })
  const unknown = () => send(`${base}/nope`, { localAddress })

  const counted = [...await sequence(3, unknown), ...await sequence(2, preflight)]
  t.same(statuses(counted), [404, 404, 404, 204, 204])
  t.same(remainings(counted), ['4', '3', '2', '1', '0'], 'three 404s and two preflights used the budget of five')
  t.equal(counted[3]?.headers['access-control-allow-origin'], ORIGIN, 'the preflights were answered by CORS as usual')

  const refused = [await unknown(), await preflight(), await send(`${base}/things`, { localAddress }),
    await send(`${base}/things`, { headers: { authorization: 'Bearer forged' }, localAddress })]
  t.same(statuses(refused), [429, 429, 429, 429], 'then 404s, preflights, anonymous and failed requests are all refused')
  for (const response of refused) t.ok(Number(response.headers['retry-after']) >= 1, 'with Retry-After')
  t.equal(await redis.client.zcard(`${redis.prefix}default:ip:${localAddress}`), MAX)

  const valid = await send(`${base}/nope`, { headers: { authorization: 'Bearer valid:bob' }, localAddress })
  t.equal(valid.status, 404, 'a signed-in client\'s 404 is counted by its user, not refused with the address')
  t.equal(valid.headers['ratelimit-policy'], '"default";q=50;w=60')
  t.equal((await send(`${base}/things`, { headers: { authorization: 'Bearer valid:bob' }, localAddress })).status, 200)
})
