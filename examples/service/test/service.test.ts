import assert from 'node:assert/strict'
import { randomBytes } from 'node:crypto'
import { after, before, describe, it } from 'node:test'
import { Redis } from 'ioredis'
import { createDatabase, type Database } from './helpers/database.js'
import { startIssuer, type Issuer } from './helpers/issuer.js'
import { runService, startService, type Service } from './helpers/service.js'

const REDIS_URL = process.env.TEST_REDIS_URL ?? 'redis://127.0.0.1:6379'
const AUDIENCE = 'https://notes.example.org'
const RATE_LIMIT_MAX = 40
const RATE_LIMIT_MAX_USER = 12
const REQUEST_TIMEOUT_MS = 500

let issuer: Issuer
let database: Database
let service: Service
const keyPrefix = `notes-example:${randomBytes(4).toString('hex')}:`

function serviceEnv (): Record<string, string> {
  return {
    HOST: '127.0.0.1',
    PORT: '0',
    DATABASE_URL: database.url,
    REDIS_URL,
    OIDC_ISSUER: issuer.issuer,
    OIDC_AUDIENCE: AUDIENCE,
    RATE_LIMIT_MAX: String(RATE_LIMIT_MAX),
    RATE_LIMIT_MAX_USER: String(RATE_LIMIT_MAX_USER),
    RATE_LIMIT_KEY_PREFIX: keyPrefix,
    REQUEST_TIMEOUT_MS: String(REQUEST_TIMEOUT_MS)
  }
}

/** A standard OIDC access token (RFC 9068): typ at+jwt, no sid. */
async function accessToken (sub: string, overrides: Record<string, unknown> = {}): Promise<string> {
  const now = Math.floor(Date.now() / 1000)
  const claims: Record<string, unknown> = { iss: issuer.issuer, aud: AUDIENCE, sub, client_id: 'notes-web', scope: 'notes', iat: now, exp: now + 300, jti: randomBytes(8).toString('hex'), ...overrides }
  for (const [name, value] of Object.entries(claims)) if (value === undefined) delete claims[name]
  return issuer.sign(claims)
}

async function call (path: string, init: RequestInit & { token?: string } = {}) {
  const headers = new Headers(init.headers)
  if (init.token !== undefined) headers.set('authorization', `Bearer ${init.token}`)
  if (init.body !== undefined) headers.set('content-type', 'application/json')
  const response = await fetch(`${service.url}${path}`, { ...init, headers })
  const text = await response.text()
  const body = text === '' ? null : JSON.parse(text) as Record<string, unknown>
  return { status: response.status, headers: response.headers, body }
}

function assertProblem (response: Awaited<ReturnType<typeof call>>, status: number, code: string) {
  assert.equal(response.status, status, JSON.stringify(response.body))
  assert.match(response.headers.get('content-type') ?? '', /^application\/problem\+json/)
  assert.equal(response.body?.status, status)
  assert.equal(response.body?.code, code)
  assert.equal(typeof response.body?.title, 'string')
}

before(async () => {
  issuer = await startIssuer()
  database = await createDatabase()
  service = await startService(serviceEnv())
})

after(async () => {
  const code = await service?.stop()
  await database?.drop()
  await issuer?.close()
  const redis = new Redis(REDIS_URL)
  const keys = await redis.keys(`${keyPrefix}*`)
  if (keys.length > 0) await redis.del(...keys)
  await redis.quit()
  assert.equal(code, 0, 'the service stops cleanly on SIGTERM')
})

describe('config (@muejam/config): the service schema', () => {
  it('refuses a bad environment with exit code 78, listing every problem and no value', async () => {
    const env = serviceEnv()
    const { DATABASE_URL: _unset, ...withoutDatabase } = env
    const result = await runService({ ...withoutDatabase, PORT: 'port-eighty', RATE_LIMIT_MAX: '0', REDIS_URL: 'http://cache.internal:6379' })
    assert.equal(result.code, 78, result.stderr)
    assert.match(result.stderr, /Invalid configuration \(4 problems\)/)
    for (const variable of ['DATABASE_URL', 'PORT', 'RATE_LIMIT_MAX', 'REDIS_URL']) {
      assert.match(result.stderr, new RegExp(`- ${variable} \\(`), `${variable} is listed`)
    }
    assert.doesNotMatch(result.stderr, /port-eighty|cache\.internal/, 'no value is printed')
  })
})

describe('auth (@muejam/auth): claims oidc', () => {
  it('accepts a standard OIDC access token (typ at+jwt, no sid)', async () => {
    const response = await call('/notes', { token: await accessToken('user-accepted') })
    assert.equal(response.status, 200, JSON.stringify(response.body))
    assert.deepEqual(response.body, [])
  })

  it('refuses a required route without a token: 401 unauthenticated with a Bearer challenge', async () => {
    const response = await call('/notes')
    assertProblem(response, 401, 'unauthenticated')
    assert.match(response.headers.get('www-authenticate') ?? '', /^Bearer/)
  })

  it('refuses a token for another audience: 401 naming the aud claim', async () => {
    const response = await call('/notes', { token: await accessToken('user-aud', { aud: 'https://other.example.org' }) })
    assertProblem(response, 401, 'token_invalid_audience')
    assert.equal(response.body?.claim, 'aud')
    assert.match(String(response.body?.detail), /aud/)
  })

  it('refuses a token without sub: 401 naming the sub claim', async () => {
    const response = await call('/notes', { token: await accessToken('ignored', { sub: undefined }) })
    assertProblem(response, 401, 'token_missing_claim')
    assert.equal(response.body?.claim, 'sub')
    assert.match(String(response.body?.detail), /sub/)
  })

  it('refuses a token from another issuer: 401 naming the iss claim', async () => {
    const response = await call('/notes', { token: await accessToken('user-iss', { iss: `${issuer.issuer}/` }) })
    assertProblem(response, 401, 'token_invalid_issuer')
    assert.equal(response.body?.claim, 'iss')
  })
})

describe('db-pool (@muejam/db-pool): the service tables', () => {
  it('writes a note and reads it back, only for its owner', async () => {
    const owner = await accessToken('user-writer')
    const created = await call('/notes', { method: 'POST', token: owner, body: JSON.stringify({ body: 'buy milk' }) })
    assert.equal(created.status, 201, JSON.stringify(created.body))
    assert.equal(created.body?.body, 'buy milk')
    const id = created.body?.id
    assert.equal(typeof id, 'number')

    const read = await call(`/notes/${id}`, { token: owner })
    assert.equal(read.status, 200)
    assert.deepEqual(read.body, created.body)
    const listed = await call('/notes', { token: owner })
    assert.deepEqual(listed.body, [created.body])

    const rows = await database.query<{ owner: string, body: string }>('select owner, body from notes where id = $1', [id])
    assert.deepEqual(rows, [{ owner: 'user-writer', body: 'buy milk' }])

    const stranger = await call(`/notes/${id}`, { token: await accessToken('user-stranger') })
    assertProblem(stranger, 404, 'note_not_found')
    assert.equal(stranger.body?.note_id, id)
    assert.equal(stranger.body?.type, 'https://notes.example.org/problems/note_not_found')
  })

  it('refuses an invalid note with a 400 problem and writes nothing', async () => {
    const before = await database.query<{ count: number }>('select count(*)::int as count from notes')
    const response = await call('/notes', { method: 'POST', token: await accessToken('user-invalid'), body: JSON.stringify({ body: '' }) })
    assertProblem(response, 400, 'validation_failed')
    assert.deepEqual(await database.query('select count(*)::int as count from notes'), before)
  })
})

describe('problem (@muejam/problem): unknown routes', () => {
  it('answers an unknown route with a 404 problem carrying the request id', async () => {
    const response = await call('/no-such-route', { headers: { 'x-request-id': 'example-404' } })
    assertProblem(response, 404, 'route_not_found')
    assert.equal(response.headers.get('x-request-id'), 'example-404')
    assert.equal(response.body?.request_id, 'example-404')
  })
})

describe('timeouts (@muejam/timeouts): the request deadline', () => {
  it('answers 504 request_timeout past the deadline and stops the query', async () => {
    const started = Date.now()
    const response = await call('/reports/activity?seconds=20')
    const elapsed = Date.now() - started
    assertProblem(response, 504, 'request_timeout')
    assert.equal(response.body?.timeout_ms, REQUEST_TIMEOUT_MS)
    assert.ok(elapsed >= REQUEST_TIMEOUT_MS && elapsed < 5000, `answered after ${elapsed} ms`)
    let sleeping = 1
    for (let attempt = 0; attempt < 50 && sleeping > 0; attempt++) {
      await new Promise((resolve) => setTimeout(resolve, 100));
      [{ sleeping = 1 } = {}] = await database.query<{ sleeping: number }>(
        "select count(*)::int as sleeping from pg_stat_activity where datname = current_database() and state = 'active' and query like '%pg_sleep%' and pid <> pg_backend_pid()")
    }
    assert.equal(sleeping, 0, 'the query was cancelled')
  })

  it('answers a quick report in time', async () => {
    const response = await call('/reports/activity?seconds=0')
    assert.equal(response.status, 200)
    assert.equal(typeof response.body?.notes, 'number')
  })
})

describe('health (@muejam/health): readiness', () => {
  it('reports the database and cache checks the plugins registered', async () => {
    const response = await call('/health/ready')
    assert.equal(response.status, 200, JSON.stringify(response.body))
    const checks = response.body?.checks as Record<string, { status: string }>
    assert.equal(checks.database?.status, 'healthy')
    assert.equal(checks.cache?.status, 'healthy')
    assert.equal(response.headers.get('x-ratelimit-limit'), null, 'health is not rate limited')
  })

  it('answers liveness', async () => {
    const response = await call('/health/live')
    assert.equal(response.status, 200)
    assert.equal(response.body?.status, 'pass')
  })
})

describe('rate-limit (@muejam/rate-limit): per identity and per IP', () => {
  async function spend (path: string, token?: string) {
    const first = await call(path, token === undefined ? {} : { token })
    assert.equal(first.status, 200, JSON.stringify(first.body))
    const remaining = Number(first.headers.get('x-ratelimit-remaining'))
    assert.ok(remaining >= 0 && remaining < Number(first.headers.get('x-ratelimit-limit')))
    for (let index = 0; index < remaining; index++) {
      const response = await call(path, token === undefined ? {} : { token })
      assert.equal(response.status, 200, `request ${index + 2} is within the budget`)
    }
    return call(path, token === undefined ? {} : { token })
  }

  it('limits a signed-in caller by its identity, apart from the IP and other users', async () => {
    const alice = await accessToken('user-alice')
    const refused = await spend('/notes', alice)
    assertProblem(refused, 429, 'rate_limited')
    assert.equal(refused.body?.limit, RATE_LIMIT_MAX_USER)
    assert.ok(Number(refused.headers.get('retry-after')) > 0)
    assert.equal(refused.body?.retry_after, Number(refused.headers.get('retry-after')))

    const bob = await call('/notes', { token: await accessToken('user-bob') })
    assert.equal(bob.status, 200, 'another user from the same IP has a budget of their own')
    assert.equal(bob.headers.get('x-ratelimit-limit'), String(RATE_LIMIT_MAX_USER))
  })

  it('limits anonymous callers by client IP', async () => {
    const refused = await spend('/reports/activity')
    assertProblem(refused, 429, 'rate_limited')
    assert.equal(refused.body?.limit, RATE_LIMIT_MAX)
    assert.ok(Number(refused.headers.get('retry-after')) > 0)

    const signedIn = await call('/notes', { token: await accessToken('user-carol') })
    assert.equal(signedIn.status, 200, 'a signed-in caller from that IP is counted by identity')
  })
})

describe('observability (@muejam/observability): metrics under the notes_ prefix', () => {
  it('exports request durations and what each plugin counted', async () => {
    const response = await fetch(`${service.url}/metrics`)
    assert.equal(response.status, 200)
    const text = await response.text()
    const value = (series: string) => {
      const line = text.split('\n').find((entry) => entry.startsWith(`${series} `))
      assert.ok(line !== undefined, `${series} is exported`)
      return Number(line.slice(series.length + 1))
    }
    assert.ok(value('notes_http_request_duration_seconds_count{method="GET",route="/notes",status="200"}') > 0)
    assert.equal(value('notes_auth_failures_total{reason="token_invalid_audience"}'), 1)
    assert.equal(value('notes_auth_failures_total{reason="token_missing_claim"}'), 1)
    assert.equal(value('notes_rate_limit_refused_total'), 2)
    assert.equal(value('notes_request_timeouts_total'), 1)
    assert.ok(value('notes_db_pool_connections{pool="primary"}') >= 1)
    assert.equal(value('notes_health_check_status{check="database",status="healthy"}'), 1)
    assert.equal(value('notes_health_check_status{check="cache",status="healthy"}'), 1)
  })
})
