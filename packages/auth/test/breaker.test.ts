import health from '@muejam/health'
import observability from '@muejam/observability'
import { startJwksServer } from '@muejam/testing/jwks'
import Fastify from 'fastify'
import t from 'tap'
import auth from '../src/index.js'
import { buildApp, sleep } from './helpers/app.js'

/*
 * A JWKS server that accepts the request and never answers costs a token signed with a key
 * not cached yet the whole jwksTimeoutMs. After a run of such fetches the breaker opens: no
 * fetch, cached keys keep verifying, other tokens get 503 at once; after the cool-off one
 * probe fetch, and the breaker closes once the server answers.
 */

const TIMEOUT_MS = 1000
const COOL_OFF_MS = 2000
// A request that waits for the JWKS takes the whole fetch timeout; an open breaker answers
// without fetching. Half the timeout tells them apart on any machine.
const FAST_MS = TIMEOUT_MS / 2

t.test('JWKS server hanging: after 2 failed fetches the breaker opens; stale keys verify, unknown kids get 503 at once with no fetch; one probe after the cool-off; closed again once the server answers', async (t) => {
  const jwks = await startJwksServer(t)
  const { get, app } = await buildApp(t, {
    issuer: jwks.issuer,
    jwksTimeoutMs: TIMEOUT_MS,
    jwksCooldownMs: 0,
    jwksTtlMs: 100,
    jwksBreakerFailureThreshold: 2,
    jwksBreakerCoolOffMs: COOL_OFF_MS
  })
  const known = await jwks.sign()
  t.equal((await get('/required', known)).statusCode, 200)
  await sleep(150)
  await jwks.setDown('hang')
  const rotated = await jwks.rotate()

  // Two fetches for the new key time out; the second opens the breaker.
  for (let i = 0; i < 2; i++) {
    const started = performance.now()
    const response = await get('/required', await jwks.sign({ sid: `sess_${i}` }, { key: rotated }))
    t.equal(response.statusCode, 503)
    t.ok(performance.now() - started >= TIMEOUT_MS * 0.9, 'waited for the fetch timeout')
  }
  t.equal(app.auth.stats.keys.breaker, 'open')
  const fetches = jwks.fetchCount

  const times: number[] = []
  const openedAt = performance.now()
  while (performance.now() - openedAt < COOL_OFF_MS - 700) {
    const started = performance.now()
    const unknown = await get('/required', await jwks.sign({ sid: `sess_open_${times.length}` }, { key: rotated }))
    times.push(performance.now() - started)
    if (unknown.statusCode !== 503 || unknown.json().code !== 'auth_keys_unavailable') t.fail(`unexpected ${unknown.statusCode} ${unknown.body}`)
    if (times.length === 1) {
      t.equal(unknown.headers['retry-after'], String(Math.ceil(COOL_OFF_MS / 1000)), 'Retry-After: the cool-off left')
      t.equal(unknown.json().retry_after, 2)
    }
    const stale = await get('/required', known)
    if (stale.statusCode !== 200) t.fail(`the cached (stale) key stopped verifying: ${stale.statusCode}`)
  }
  t.equal(jwks.fetchCount, fetches, 'no fetch while open, not even the background refresh of the stale key')
  const sorted = [...times].sort((a, b) => a - b)
  const p99 = sorted[Math.ceil(sorted.length * 0.99) - 1] as number
  t.comment(`JWKS hanging, breaker open: ${times.length} unknown-kid requests, p99 ${p99.toFixed(2)} ms (fetch timeout ${TIMEOUT_MS} ms)`)
  t.ok(times.length > 20)
  t.ok(p99 < FAST_MS, `p99 ${p99.toFixed(2)} ms < ${FAST_MS} ms`)

  await sleep(Math.max(0, openedAt + COOL_OFF_MS - performance.now()))
  t.equal(app.auth.stats.keys.breaker, 'half_open')
  const probe = get('/required', await jwks.sign({ sid: 'sess_probe' }, { key: rotated }))
  await sleep(50)
  const started = performance.now()
  const during = await get('/required', await jwks.sign({ sid: 'sess_during' }, { key: rotated }))
  t.equal(during.statusCode, 503)
  t.ok(performance.now() - started < FAST_MS, 'a request during the probe does not wait for it')
  t.equal((await probe).statusCode, 503, 'the probe timed out')
  t.equal(jwks.fetchCount, fetches + 1, 'one probe fetch')
  t.equal(app.auth.stats.keys.breaker, 'open')
  const reopenedAt = performance.now()

  await jwks.setDown(false)
  let recovered = false
  while (!recovered && performance.now() - reopenedAt < COOL_OFF_MS + 3000) {
    recovered = (await get('/required', await jwks.sign({ sid: 'sess_back' }, { key: rotated }))).statusCode === 200
    if (!recovered) await sleep(50)
  }
  const recoveredMs = performance.now() - reopenedAt
  t.ok(recovered, 'the new key verifies once the server answers')
  t.ok(recoveredMs < COOL_OFF_MS + 1000, `recovered ${recoveredMs.toFixed(0)} ms after the probe failed (cool-off ${COOL_OFF_MS} ms)`)
  t.equal(app.auth.stats.keys.breaker, 'closed')
})

t.test('no cached key while open: 503 auth_keys_unavailable at once', async (t) => {
  const jwks = await startJwksServer(t)
  await jwks.setDown('refuse')
  const { get } = await buildApp(t, { issuer: jwks.issuer, jwksCooldownMs: 0, jwksBreakerFailureThreshold: 1, jwksBreakerCoolOffMs: 60_000 })
  t.equal((await get('/required', await jwks.sign())).statusCode, 503)
  const refused = await get('/required', await jwks.sign({ sid: 'sess_2' }))
  t.equal(refused.statusCode, 503)
  t.equal(refused.json().code, 'auth_keys_unavailable')
  t.equal(refused.headers['retry-after'], '60')
})

t.test('the breaker in /health (the auth_keys check\'s details) and in auth_jwks_breaker_state', async (t) => {
  const jwks = await startJwksServer(t)
  const app = Fastify()
  t.teardown(() => app.close())
  await app.register(health, { diskPath: false, cacheMs: 0 })
  await app.register(observability, { prefix: 'svc_', defaultMetrics: false })
  await app.register(auth, { issuer: jwks.issuer, jwksCooldownMs: 0, jwksBreakerFailureThreshold: 1, jwksBreakerCoolOffMs: 60_000 })
  app.get('/required', { config: { auth: 'required' } }, async () => 'ok')
  await app.ready()
  t.match((await app.inject('/health')).json().checks.auth_keys, { source: 'jwks', breaker: 'closed' })
  const metrics = (await app.inject('/metrics')).body
  t.match(metrics, /^# HELP svc_auth_jwks_breaker_state State of the JWKS circuit breaker: 0 closed, 1 half-open, 2 open/m)
  t.match(metrics, /^svc_auth_jwks_breaker_state 0$/m)

  await jwks.setDown('500')
  await app.inject({ url: '/required', headers: { authorization: `Bearer ${await jwks.sign()}` } })
  t.match((await app.inject('/health')).json().checks.auth_keys, { status: 'degraded', breaker: 'open' })
  t.match((await app.inject('/metrics')).body, /^svc_auth_jwks_breaker_state 2$/m)
})

t.test('a configured public key has no breaker', async (t) => {
  const jwks = await startJwksServer(t)
  const { app } = await buildApp(t, { issuer: jwks.issuer, publicKey: jwks.currentKey.publicPem })
  t.equal(app.auth.stats.keys.breaker, null)
})
