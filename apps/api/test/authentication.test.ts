import { Agent, request as httpRequest } from 'node:http'
import type { AddressInfo } from 'node:net'
import { createTestKey, signToken as signJws, startJwksServer, unsignedToken } from '@muejam/testing/jwks'
import type { FastifyInstance } from 'fastify'
import t from 'tap'
import { authHeaders, signToken } from './helpers/auth.js'
import { build, databaseEnv, inspectDatabase } from './helpers/build.js'
import { createStory, rowCounts } from './helpers/stories.js'

const ISSUER = 'https://issuer.muejam.test'
const BEARER_CHALLENGE = /^Bearer error="invalid_token", error_description="[^"\r\n]+"$/

interface Call {
  method: 'GET' | 'POST' | 'PATCH' | 'DELETE'
  url: string
  body?: Record<string, unknown>
}

/** Every route that requires a signed-in caller, aimed at an existing story. */
function requiredRoutes (storyId: string): Call[] {
  return [
    { method: 'GET', url: '/v1/me' },
    { method: 'POST', url: '/v1/stories', body: { title: 'Written by nobody', chapters: [{ title: 'One', content: 'Text' }] } },
    { method: 'PATCH', url: `/v1/stories/${storyId}`, body: { title: 'Renamed by nobody' } },
    { method: 'DELETE', url: `/v1/stories/${storyId}` },
    { method: 'POST', url: `/v1/stories/${storyId}/chapters`, body: { title: 'Appended by nobody', content: 'Text' } }
  ]
}

const call = (app: FastifyInstance, { method, url, body }: Call, headers: Record<string, string> = {}) =>
  app.inject({ method, url, headers, ...(body === undefined ? {} : { body }) })

t.test('without a token every write route and GET /v1/me answer 401 unauthenticated with a bare Bearer challenge; nothing is written', async (t) => {
  const env = await databaseEnv(t, 'auth_required')
  const app = await build(t, env)
  const db = inspectDatabase(t, env.DATABASE_URL)
  const story = await createStory(app, 'user_2abcRequiredAuthor', { title: 'Guarded', publish: true, chapters: [{ title: 'One', content: 'Text' }] })
  const before = await rowCounts(db)

  for (const route of requiredRoutes(story.id)) {
    for (const headers of [{}, { authorization: 'Basic dXNlcjpwYXNzd29yZA==' }, { authorization: 'Bearer' }] as Array<Record<string, string>>) {
      const response = await call(app, route, headers)
      const label = `${route.method} ${route.url.replace(story.id, ':id')} with ${JSON.stringify(headers)}`
      if (headers.authorization === 'Bearer') {
        // "Bearer" and nothing after it: a credential was meant, and it is malformed.
        t.equal(response.statusCode, 401, label)
        t.equal(response.json().code, 'token_malformed', label)
        continue
      }
      t.equal(response.statusCode, 401, label)
      t.equal(response.headers['www-authenticate'], 'Bearer', `${label}: RFC 6750 §3.1, no error code without credentials`)
      t.equal(response.headers['content-type'], 'application/problem+json; charset=utf-8')
      t.match(response.json(), { status: 401, code: 'unauthenticated', request_id: response.headers['x-request-id'] }, label)
    }
  }
  t.same(await rowCounts(db), before, 'no row added or removed')
  const row = await db.selectFrom('stories').select(['title', 'deleted_at']).where('id', '=', story.id).executeTakeFirstOrThrow()
  t.same(row, { title: 'Guarded', deleted_at: null }, 'the story is untouched')
})

t.test('reads are optional: anonymous callers read published stories and nothing else; a token that fails is still a 401', async (t) => {
  const env = await databaseEnv(t, 'auth_optional')
  const app = await build(t, env)
  const story = await createStory(app, 'user_2abcOptionalAuthor', { title: 'Public', publish: true, chapters: [{ title: 'One', content: 'Text' }] })
  const draft = await createStory(app, 'user_2abcOptionalAuthor', { title: 'Private' })

  for (const url of ['/v1/stories', `/v1/stories/${story.id}`, `/v1/stories/${story.id}/chapters`]) {
    t.equal((await app.inject(url)).statusCode, 200, `anonymous ${url.replace(story.id, ':id')}`)
    const refused = await app.inject({ url, headers: { authorization: `Bearer ${signToken('user_2abcOptionalReader', { exp: 1_700_000_600 })}` } })
    t.equal(refused.statusCode, 401, 'an expired token is not served as anonymous')
    t.equal(refused.json().code, 'token_expired')
    t.match(refused.headers['www-authenticate'], BEARER_CHALLENGE)
  }
  t.equal((await app.inject(`/v1/stories/${draft.id}`)).statusCode, 404, 'a draft does not exist for anonymous callers')
  t.equal((await app.inject({ url: `/v1/stories/${draft.id}`, headers: authHeaders('user_2abcOptionalReader') })).statusCode, 404, 'nor for other users')
  t.equal((await app.inject({ url: `/v1/stories/${draft.id}`, headers: authHeaders('user_2abcOptionalAuthor') })).statusCode, 200, 'its author reads it')
  const garbage = { authorization: 'Bearer not-a-token-at-all' }
  t.equal((await app.inject({ url: '/health/live', headers: garbage })).statusCode, 200, 'health probes ignore the Authorization header')
  t.equal(app.auth.stats.failures.token_malformed, 0, 'and verify nothing')
})

t.test('refused tokens get 401 and their own code on every write route, and nothing is written', async (t) => {
  const env = await databaseEnv(t, 'auth_refused')
  const app = await build(t, env)
  const db = inspectDatabase(t, env.DATABASE_URL)
  const story = await createStory(app, 'user_2abcRefusedAuthor', { title: 'Guarded', publish: true })
  const before = await rowCounts(db)

  const now = Math.floor(Date.now() / 1000)
  // The author's own identity in each token: had it been accepted, the write would have gone through.
  const author = 'user_2abcRefusedAuthor'
  const stranger = await createTestKey('RS256')
  const claims = { iss: ISSUER, sub: author, sid: 'sess_refused', iat: now, nbf: now, exp: now + 600 }
  const cases: Array<[string, string]> = [
    ['token_expired', signToken(author, { iat: now - 3600, nbf: now - 3600, exp: now - 60 })],
    ['token_invalid_signature', await signJws(stranger, { typ: 'JWT' }, claims)],
    ['token_invalid_issuer', signToken(author, { iss: 'https://issuer.muejam.test.evil.example' })],
    ['token_algorithm_not_allowed', unsignedToken(claims)],
    ['token_missing_claim', signToken(author, { sid: undefined })],
    ['token_not_yet_valid', signToken(author, { nbf: now + 3600 })]
  ]
  for (const [code, token] of cases) {
    for (const route of requiredRoutes(story.id)) {
      const response = await call(app, route, { authorization: `Bearer ${token}` })
      const label = `${code}: ${route.method} ${route.url.replace(story.id, ':id')}`
      t.equal(response.statusCode, 401, label)
      t.equal(response.json().code, code, label)
      t.match(response.headers['www-authenticate'], BEARER_CHALLENGE, label)
    }
  }
  t.same(await rowCounts(db), before, 'nothing written: no profile, story, chapter or deletion')
  t.equal((await db.selectFrom('stories').select('title').where('id', '=', story.id).executeTakeFirstOrThrow()).title, 'Guarded')
  for (const [code] of cases) t.equal(app.auth.stats.failures[code as keyof typeof app.auth.stats.failures], 5, `5 × ${code} counted`)

  const accepted = await app.inject({ method: 'PATCH', url: `/v1/stories/${story.id}`, headers: authHeaders(author), body: { title: 'Renamed' } })
  t.equal(accepted.statusCode, 200, 'the same identity with a valid token is let through')
})

t.test('50 concurrent first GET /v1/me of a new user over real sockets: 50 × 200, one profile, one first-sign-in audit line', async (t) => {
  const env = await databaseEnv(t, 'auth_first')
  const logs: Array<Record<string, unknown>> = []
  const app = await build(t, env, { logs })
  const db = inspectDatabase(t, env.DATABASE_URL)
  await app.listen({ host: '127.0.0.1', port: 0 })
  const { port } = app.server.address() as AddressInfo
  const agent = new Agent({ keepAlive: true, maxSockets: 50 })
  t.teardown(() => agent.destroy())
  const headers = authHeaders('user_2abcFirstSignIn')
  const answers = await Promise.all(Array.from({ length: 50 }, () => new Promise<{ status: number, id: string }>((resolve, reject) => {
    const request = httpRequest({ host: '127.0.0.1', port, path: '/v1/me', agent, headers }, (response) => {
      let text = ''
      response.setEncoding('utf8').on('data', (chunk: string) => { text += chunk })
      response.on('end', () => resolve({ status: response.statusCode ?? 0, id: (JSON.parse(text) as { id: string }).id }))
    })
    request.on('error', reject)
    request.end()
  })))
  t.same(answers.map((answer) => answer.status), Array(50).fill(200))
  t.equal(new Set(answers.map((answer) => answer.id)).size, 1, 'one profile answered to all')
  const rows = await db.selectFrom('user_profiles').select('id').where('clerk_user_id', '=', 'user_2abcFirstSignIn').execute()
  t.equal(rows.length, 1, 'one row')
  const audits = logs.filter((line) => line.event === 'user.first_sign_in')
  t.equal(audits.length, 1, 'one first sign-in, audited once')
  t.match(audits[0], { audit: true, actor: 'user_2abcFirstSignIn', target: rows[0]?.id, outcome: 'success' })
})

t.test('JWKS mode: a token of the issuer\'s published key is accepted; cached keys keep working while the JWKS is down', async (t) => {
  const env = await databaseEnv(t, 'auth_jwks')
  const jwks = await startJwksServer(t)
  // http is fine outside production; AUTH_JWT_KEY empty: keys come from the JWKS only.
  const app = await build(t, { ...env, AUTH_ISSUER: jwks.issuer, AUTH_JWT_KEY: '', AUTH_JWKS_TIMEOUT_MS: '1000' })
  t.equal(app.auth.stats.keys.source, 'jwks')

  const first = await app.inject({ url: '/v1/me', headers: { authorization: `Bearer ${await jwks.sign({ sub: 'user_2abcJwksReader' })}` } })
  t.equal(first.statusCode, 200)
  t.equal(first.json().user_id, 'user_2abcJwksReader')
  t.equal(jwks.fetchCount, 1, 'one JWKS fetch')
  const second = await app.inject({ method: 'POST', url: '/v1/stories', headers: { authorization: `Bearer ${await jwks.sign({ sub: 'user_2abcJwksWriter' })}` }, body: { title: 'Via JWKS' } })
  t.equal(second.statusCode, 201)
  t.equal(jwks.fetchCount, 1, 'the cached set serves the next token')

  await jwks.setDown('refuse')
  const cached = await app.inject({ url: '/v1/me', headers: { authorization: `Bearer ${await jwks.sign({ sub: 'user_2abcJwksLater' })}` } })
  t.equal(cached.statusCode, 200, 'the issuer is unreachable, the cached key still verifies')
})

t.test('JWKS down with nothing cached: 503 auth_keys_unavailable within AUTH_JWKS_TIMEOUT_MS, never a hang, nothing written; back without a restart', async (t) => {
  const env = await databaseEnv(t, 'auth_jwks_down')
  const db = inspectDatabase(t, env.DATABASE_URL)
  const jwks = await startJwksServer(t)
  await jwks.setDown('hang')
  const timeoutMs = 1000
  const app = await build(t, { ...env, AUTH_ISSUER: jwks.issuer, AUTH_JWT_KEY: '', AUTH_JWKS_TIMEOUT_MS: String(timeoutMs), AUTH_JWKS_COOLDOWN_MS: '1500' })
  const token = await jwks.sign({ sub: 'user_2abcJwksDown' })

  let started = performance.now()
  const hung = await app.inject({ method: 'POST', url: '/v1/stories', headers: { authorization: `Bearer ${token}` }, body: { title: 'Never' } })
  const waitedMs = performance.now() - started
  t.equal(hung.statusCode, 503)
  t.match(hung.json(), { code: 'auth_keys_unavailable', request_id: hung.headers['x-request-id'] })
  t.match(hung.headers['retry-after'], /^\d+$/)
  t.comment(`503 after ${waitedMs.toFixed(0)} ms against a JWKS that never answers (timeout ${timeoutMs} ms)`)
  t.ok(waitedMs >= timeoutMs * 0.9, 'it waited for the fetch timeout')
  t.ok(waitedMs < timeoutMs + 1500, 'and not much longer (generous bound for a loaded machine)')
  t.equal(jwks.fetchCount, 1)

  started = performance.now()
  const again = await app.inject({ url: '/v1/me', headers: { authorization: `Bearer ${token}` } })
  t.equal(again.statusCode, 503)
  t.equal(again.json().code, 'auth_keys_unavailable')
  t.ok(performance.now() - started < 500, 'inside the cooldown the answer is immediate, with no new fetch')
  t.equal(jwks.fetchCount, 1)
  t.same(await rowCounts(db), { user_profiles: 0, stories: 0, chapters: 0, moderator_roles: 0 }, 'nothing written')

  await jwks.setDown('refuse')
  await new Promise((resolve) => setTimeout(resolve, 1600))
  started = performance.now()
  const refused = await app.inject({ url: '/v1/me', headers: { authorization: `Bearer ${token}` } })
  t.equal(refused.statusCode, 503, 'connection refused: 503 as well')
  t.ok(performance.now() - started < timeoutMs, 'at once')

  await jwks.setDown(false)
  await new Promise((resolve) => setTimeout(resolve, 1600))
  const back = await app.inject({ url: '/v1/me', headers: { authorization: `Bearer ${token}` } })
  t.equal(back.statusCode, 200, 'once the JWKS answers again (after the cooldown) the same token is accepted')
  t.equal(back.json().user_id, 'user_2abcJwksDown')
})
