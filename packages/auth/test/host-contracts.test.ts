import health from '@muejam/health'
import observability from '@muejam/observability'
import { startJwksServer } from '@muejam/testing/jwks'
import Fastify, { type FastifyInstance } from 'fastify'
import t from 'tap'
import auth, { FAILURE_REASONS, JWKS_FETCH_FAILURES_METRIC_NAME, JWKS_FETCHES_METRIC_NAME, type AuthOptions } from '../src/index.js'
import { buildApp, nowS, type BuildOptions } from './helpers/app.js'

const registerHealth = (app: FastifyInstance) => app.register(health, { diskPath: false, cacheMs: 0 })
const registerMetrics = (prefix: string) => (app: FastifyInstance) => app.register(observability, { prefix, defaultMetrics: false })

const ORDERS: Array<[string, (register: (app: FastifyInstance) => unknown) => BuildOptions]> = [
  ['registered before auth', (register) => ({ before: register })],
  ['registered after auth', (register) => ({ after: register })]
]

async function keysCheck (app: FastifyInstance): Promise<Record<string, unknown>> {
  const response = await app.inject({ url: '/health' })
  return response.json().checks.auth_keys
}

for (const [order, placement] of ORDERS) {
  t.test(`@muejam/health ${order}: the auth_keys check reports the JWKS (non-critical)`, async (t) => {
    const jwks = await startJwksServer(t)
    const { app, get } = await buildApp(t, { issuer: jwks.issuer, jwksCooldownMs: 0 }, placement(registerHealth))
    t.match(await keysCheck(app), { status: 'healthy', source: 'jwks', keys: 0 }, 'healthy before any fetch')
    t.equal((await get('/required', await jwks.sign())).statusCode, 200)
    t.match(await keysCheck(app), { status: 'healthy', source: 'jwks', keys: 1 })
    await jwks.setDown('500')
    t.equal((await get('/required', await jwks.sign({}, { kid: 'ins_other' }))).statusCode, 503, 'an unknown kid with the JWKS down')
    t.match(await keysCheck(app), { status: 'degraded', source: 'jwks', keys: 1 })
    const report = (await app.inject({ url: '/health' }))
    t.equal(report.statusCode, 200, 'a failing key fetch degrades the service, never makes it unhealthy')
    t.equal(report.json().status, 'degraded')
  })

  t.test(`@muejam/observability ${order}: auth_failures_total{reason} counts refusals under the host prefix`, async (t) => {
    const jwks = await startJwksServer(t)
    const { app, get } = await buildApp(t, { issuer: jwks.issuer }, placement(registerMetrics('muejam_')))
    await get('/required')
    await get('/required', 'garbage')
    await get('/required', await jwks.sign({ exp: nowS() - 60 }))
    await get('/required', await jwks.sign({ exp: nowS() - 60, sid: 'sess_other' }))
    t.equal((await get('/required', await jwks.sign())).statusCode, 200)
    await app.auth.verify('garbage').catch(() => undefined)
    const text = (await app.inject({ url: '/metrics' })).body
    t.match(text, '# TYPE muejam_auth_failures_total counter')
    t.match(text, 'muejam_auth_failures_total{reason="unauthenticated"} 1\n')
    t.match(text, 'muejam_auth_failures_total{reason="token_malformed"} 1\n', 'verify() refusals are not counted')
    t.match(text, 'muejam_auth_failures_total{reason="token_expired"} 2\n')
    for (const reason of FAILURE_REASONS) t.match(text, `muejam_auth_failures_total{reason="${reason}"} `, `${reason} is exported from the start`)
  })

  t.test(`@muejam/observability ${order}: auth_jwks_fetches_total and auth_jwks_fetch_failures_total count JWKS fetches`, async (t) => {
    const jwks = await startJwksServer(t)
    const { app, get } = await buildApp(t, { issuer: jwks.issuer, jwksCooldownMs: 0 }, placement(registerMetrics('muejam_')))
    const scrape = async () => (await app.inject({ url: '/metrics' })).body
    const before = await scrape()
    t.match(before, '# TYPE muejam_auth_jwks_fetches_total counter')
    t.match(before, '# TYPE muejam_auth_jwks_fetch_failures_total counter')
    t.match(before, /^muejam_auth_jwks_fetches_total 0$/m, 'exported at 0 before any fetch')
    t.match(before, /^muejam_auth_jwks_fetch_failures_total 0$/m)

    t.equal((await get('/required', await jwks.sign())).statusCode, 200)
    t.equal(jwks.fetchCount, 1)
    const fetched = await scrape()
    t.match(fetched, /^muejam_auth_jwks_fetches_total 1$/m, 'a successful fetch counts')
    t.match(fetched, /^muejam_auth_jwks_fetch_failures_total 0$/m, 'and is no failure')

    await jwks.setDown('refuse')
    t.equal((await get('/required', await jwks.sign({}, { kid: 'ins_other' }))).statusCode, 503, 'an unknown kid with the JWKS down')
    const failed = await scrape()
    t.match(failed, /^muejam_auth_jwks_fetches_total 2$/m, 'the failed fetch is a fetch')
    t.match(failed, /^muejam_auth_jwks_fetch_failures_total 1$/m, 'and a failure')
    t.equal(app.auth.stats.keys.fetchFailures, 1, 'the metric reads the key source\'s own count')
  })
}

t.test('the JWKS metric names are exported without the prefix', async (t) => {
  t.equal(JWKS_FETCHES_METRIC_NAME, 'auth_jwks_fetches_total')
  t.equal(JWKS_FETCH_FAILURES_METRIC_NAME, 'auth_jwks_fetch_failures_total')
})

t.test('with publicKey, nothing is fetched and no JWKS metric is registered', async (t) => {
  const jwks = await startJwksServer(t)
  const { app, get } = await buildApp(t, { issuer: jwks.issuer, publicKey: jwks.currentKey.publicPem }, { after: registerMetrics('muejam_') })
  t.equal((await get('/required', await jwks.sign())).statusCode, 200)
  const text = (await app.inject({ url: '/metrics' })).body
  t.match(text, 'muejam_auth_failures_total{reason="unauthenticated"} 0\n', 'the failure counter is there')
  t.notMatch(text, 'auth_jwks_fetch')
  t.equal(jwks.fetchCount, 0)
})

t.test('with no prefix, the metric is auth_failures_total', async (t) => {
  const jwks = await startJwksServer(t)
  const { app, get } = await buildApp(t, { issuer: jwks.issuer }, { before: registerMetrics('') })
  await get('/required')
  t.match((await app.inject({ url: '/metrics' })).body, /^auth_failures_total\{reason="unauthenticated"\} 1$/m)
})

t.test('with publicKey, the health check reports the static source as healthy', async (t) => {
  const jwks = await startJwksServer(t)
  const { app } = await buildApp(t, { issuer: jwks.issuer, publicKey: jwks.currentKey.publicPem }, { after: registerHealth })
  t.match(await keysCheck(app), { status: 'healthy', source: 'public_key', keys: 1 })
})

t.test('without @muejam/health or @muejam/observability, auth registers nothing and needs neither', async (t) => {
  const jwks = await startJwksServer(t)
  const app = Fastify()
  t.teardown(() => app.close())
  await app.register(auth, { issuer: jwks.issuer } satisfies AuthOptions)
  await app.ready()
  t.notOk(app.hasDecorator('health'))
  t.notOk(app.hasDecorator('metrics'))
})

t.test('auth inside an encapsulated scope registers with the health and metrics of the scope it can see', async (t) => {
  const jwks = await startJwksServer(t)
  const app = Fastify()
  t.teardown(() => app.close())
  await registerHealth(app)
  await registerMetrics('muejam_')(app)
  await app.register(async (scope) => {
    await scope.register(auth, { issuer: jwks.issuer, defaultMode: 'required' })
    scope.get('/private', async () => 'never')
  })
  await app.ready()
  t.equal((await app.inject({ url: '/private' })).statusCode, 401)
  t.match((await app.inject({ url: '/health' })).json().checks, { auth_keys: { status: 'healthy' } })
  t.match((await app.inject({ url: '/metrics' })).body, 'muejam_auth_failures_total{reason="unauthenticated"} 1\n')
})
