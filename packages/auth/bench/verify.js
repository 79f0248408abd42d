// Verifications per second of one RS256 Clerk-style session token: @muejam/auth with a warm
// verified-token cache and cold (cache off: decode, claim checks, signature every time), against
// jose's jwtVerify on the same token. Run after `pnpm build`: `pnpm --filter @muejam/auth bench`.
// Not a test: figures depend on the machine; compare them within one run only.
import { cpus } from 'node:os'
import { performance } from 'node:perf_hooks'
import { startJwksServer } from '@muejam/testing/jwks'
import Fastify from 'fastify'
import { createLocalJWKSet, jwtVerify } from 'jose'
import auth from '../dist/index.js'

const DURATION_MS = Number(process.env.BENCH_DURATION_MS ?? 2000)
const cleanups = []
const jwks = await startJwksServer({ teardown: (fn) => cleanups.push(fn) })
const token = await jwks.sign({ azp: 'https://app.example.org', o: { id: 'org_2abc', rol: 'admin' } })
const options = { issuer: jwks.issuer, authorizedParties: ['https://app.example.org'] }

async function appWith (extra) {
  const app = Fastify()
  await app.register(auth, { ...options, ...extra })
  app.get('/me', { config: { auth: 'required' } }, async (request) => ({ user: request.auth.userId }))
  await app.ready()
  cleanups.push(() => app.close())
  return app
}

async function measure (name, run) {
  for (let i = 0; i < 500; i++) await run() // warm-up: JIT, key fetch, caches
  let operations = 0
  const started = performance.now()
  let elapsed = 0
  while (elapsed < DURATION_MS) {
    for (let i = 0; i < 100; i++) await run()
    operations += 100
    elapsed = performance.now() - started
  }
  return { name, perSecond: Math.round(operations / (elapsed / 1000)), microseconds: (elapsed * 1000) / operations }
}

const warm = await appWith({})
const cold = await appWith({ tokenCacheSize: 0 })
const localSet = createLocalJWKSet({ keys: jwks.keys.map((key) => key.publicJwk) })
const joseOptions = { issuer: jwks.issuer, algorithms: ['RS256'] }
const publicKey = jwks.currentKey.publicKey

const joseApp = Fastify()
joseApp.get('/me', async (request) => {
  const { payload } = await jwtVerify(request.headers.authorization.slice(7), localSet, joseOptions)
  return { user: payload.sub }
})
const bareApp = Fastify()
bareApp.get('/me', async () => ({ user: 'user_2abc' }))
await Promise.all([joseApp.ready(), bareApp.ready()])
cleanups.push(() => joseApp.close(), () => bareApp.close())

// Sanity: every contender accepts the token.
if ((await warm.auth.verify(token)).userId !== (await jwtVerify(token, localSet, joseOptions)).payload.sub) throw new Error('contenders disagree')

const headers = { authorization: `Bearer ${token}` }
const inject = (app) => () => app.inject({ method: 'GET', url: '/me', headers })
const results = [
  await measure('@muejam/auth app.auth.verify, warm cache', () => warm.auth.verify(token)),
  await measure('@muejam/auth app.auth.verify, cold (cache off)', () => cold.auth.verify(token)),
  await measure('jose jwtVerify, imported public key', () => jwtVerify(token, publicKey, joseOptions)),
  await measure('jose jwtVerify, createLocalJWKSet', () => jwtVerify(token, localSet, joseOptions)),
  await measure('inject GET /me, @muejam/auth warm', inject(warm)),
  await measure('inject GET /me, @muejam/auth cold', inject(cold)),
  await measure('inject GET /me, jose jwtVerify in the handler', inject(joseApp)),
  await measure('inject GET /me, no authentication (inject ceiling)', inject(bareApp))
]

const joseDirect = results[2].perSecond
console.log(`Node ${process.version}, ${cpus()[0]?.model ?? 'unknown CPU'} x${cpus().length}, token ${token.length} bytes, ${DURATION_MS} ms per row\n`)
console.log('| contender | verifications/s | µs each | vs jose (imported key) |')
console.log('|---|---:|---:|---:|')
for (const { name, perSecond, microseconds } of results) {
  console.log(`| ${name} | ${perSecond.toLocaleString('en-US')} | ${microseconds.toFixed(2)} | ${(perSecond / joseDirect).toFixed(2)}× |`)
}
for (const cleanup of cleanups.reverse()) await cleanup()
