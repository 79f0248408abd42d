import jwt from '@fastify/jwt'
import { createTestRedis } from '@muejam/testing/redis'
import Fastify, { type FastifyRequest } from 'fastify'
import t from 'tap'
import rateLimit from '../src/index.js'
import { capturedLogger } from './helpers/app.js'

declare module '@fastify/jwt' {
  interface FastifyJWT {
    payload: { sub: string }
    user: { sub: string }
  }
}

/** The README's example: plain Fastify, @fastify/jwt, and identify reading its verified `sub`. */
async function jwtService (t: Parameters<typeof createTestRedis>[0]) {
  const redis = await createTestRedis(t, 'identify-jwt')
  const app = Fastify()
  t.teardown(() => app.close())
  await app.register(jwt, { secret: 'a-test-secret-that-is-long-enough-for-hs256' })
  app.addHook('onRequest', async (request) => {
    if (request.headers.authorization !== undefined) await request.jwtVerify()
  })
  await app.register(rateLimit, {
    redis: redis.url,
    keyPrefix: redis.prefix,
    max: 2,
    maxAuthenticated: 3,
    identify: (request) => request.user?.sub
  })
  app.get('/hello', async () => ({ hello: 'world' }))
  await app.ready()
  const bearer = (sub: string) => ({ authorization: `Bearer ${app.jwt.sign({ sub })}` })
  return { app, bearer, redis }
}

t.test('with @fastify/jwt: each verified sub has its own maxAuthenticated budget, anonymous clients theirs per IP', async (t) => {
  const { app, bearer, redis } = await jwtService(t)
  const statuses = async (headers: Record<string, string>, n: number) => {
    const out: number[] = []
    for (let i = 0; i < n; i++) out.push((await app.inject({ url: '/hello', headers })).statusCode)
    return out
  }
  t.same(await statuses(bearer('alice'), 4), [200, 200, 200, 429], 'alice: 3')
  t.same(await statuses(bearer('bob'), 4), [200, 200, 200, 429], 'bob is not charged for alice')
  t.same(await statuses({}, 3), [200, 200, 429], 'anonymous: 2, by IP')
  const alice = await app.inject({ url: '/hello', headers: bearer('alice') })
  t.equal(alice.headers['ratelimit-policy'], '"default";q=3;w=60', 'a signed-in caller sees the authenticated quota')
  t.same((await redis.client.keys(`${redis.prefix}*`)).sort(), [
    `${redis.prefix}default:ip:127.0.0.1`,
    `${redis.prefix}default:user:alice`,
    `${redis.prefix}default:user:bob`
  ])
})

t.test('with an API key: identify returns the key\'s client, or null for an unknown key (counted by IP)', async (t) => {
  const keys = new Map([['key-1', 'client-1'], ['key-2', 'client-2']])
  const app = Fastify()
  t.teardown(() => app.close())
  app.decorateRequest('apiClient', null)
  app.addHook('onRequest', async (request) => {
    const key = request.headers['x-api-key']
    ;(request as FastifyRequest & { apiClient: string | null }).apiClient = typeof key === 'string' ? keys.get(key) ?? null : null
  })
  await app.register(rateLimit, {
    max: 1,
    maxAuthenticated: 2,
    identify: (request) => (request as FastifyRequest & { apiClient: string | null }).apiClient
  })
  app.get('/data', async () => 'data')
  const status = async (key?: string) => (await app.inject({ url: '/data', headers: key === undefined ? {} : { 'x-api-key': key } })).statusCode
  t.same([await status('key-1'), await status('key-1'), await status('key-1')], [200, 200, 429], 'client-1: 2 (in process)')
  t.same([await status('key-2'), await status('key-2')], [200, 200], 'client-2 counts apart')
  t.same([await status('unknown'), await status()], [200, 429], 'an unknown key and no key share the IP\'s budget of 1')
})

t.test('identify returning anything but a non-empty string counts by IP; a throw counts by IP and warns, at most every 10 s', async (t) => {
  const { lines, logger } = capturedLogger()
  const app = Fastify({ logger })
  t.teardown(() => app.close())
  const answers: Record<string, () => unknown> = {
    empty: () => '',
    undefined: () => undefined,
    number: () => 42,
    object: () => ({ sub: 'x' }),
    throws: () => { throw new Error('identity lookup failed') }
  }
  await app.register(rateLimit, {
    max: 5,
    maxAuthenticated: 100,
    identify: (request) => answers[request.headers['x-answer'] as string]?.() as string
  })
  app.get('/x', async () => 'x')
  const remaining: string[] = []
  for (const answer of [...Object.keys(answers), 'throws']) {
    const response = await app.inject({ url: '/x', headers: { 'x-answer': answer } })
    t.equal(response.headers['ratelimit-policy'], '"default";q=5;w=60', `${answer}: the anonymous budget`)
    remaining.push(response.headers['x-ratelimit-remaining'] as string)
  }
  t.same(remaining, ['4', '3', '2', '1', '0', '0'], 'all on one client IP')
  const warnings = lines.filter((line) => line.msg === 'rate-limit identify failed; the request is counted by its client IP')
  t.equal(warnings.length, 1)
  t.match(warnings[0], { level: 40, err: { message: 'identity lookup failed' } })
})
