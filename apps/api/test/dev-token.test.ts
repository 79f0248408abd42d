import { randomBytes } from 'node:crypto'
import { existsSync } from 'node:fs'
import { mkdtemp, rm, stat } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { createTestKey, decodeToken, signToken as signJws } from '@muejam/testing/jwks'
import t from 'tap'
import { runScript, SERVER_JS, startApiProcess, TOKEN_JS } from './helpers/api-process.js'
import { signToken } from './helpers/auth.js'
import { databaseEnv } from './helpers/build.js'

const DEVELOPMENT_ISSUER = 'https://development-issuer.muejam.invalid'

interface Test {
  teardown(fn: () => unknown): void
}

/** A working directory of its own, removed at teardown. */
async function workingDirectory (t: Test): Promise<string> {
  const directory = await mkdtemp(join(tmpdir(), 'muejam-dev-token-'))
  t.teardown(() => rm(directory, { recursive: true, force: true }))
  return directory
}

/** A production configuration that passes every rule (nothing here is ever connected to). */
function productionEnv (): Record<string, string> {
  return {
    NODE_ENV: 'production',
    PORT: '0',
    SECRET_KEY: randomBytes(48).toString('base64url'),
    SENTRY_DSN: `https://${randomBytes(16).toString('hex')}@o1.ingest.sentry.io/1`,
    METRICS_TOKEN: randomBytes(32).toString('base64url'),
    DATABASE_URL: `postgres://muejam:${randomBytes(16).toString('base64url')}@db.internal:5432/muejam`,
    REDIS_URL: `redis://:${randomBytes(16).toString('base64url')}@cache.internal:6379`,
    AUTH_ISSUER: 'https://clerk.muejam.app',
    PUBLIC_URL: 'https://api.muejam.app'
  }
}

t.test('a built server with no AUTH_ISSUER trusts only the development issuer; node dist/token.js in the same directory signs tokens it accepts', async (t) => {
  const cwd = await workingDirectory(t)
  const env = { ...await databaseEnv(t, 'dev_token'), NODE_ENV: 'development' }
  const server = await startApiProcess(t, env, { cwd, testAuth: false })
  t.match(server.logs().find((line) => line.level === 40 && /no AUTH_ISSUER/.test(String(line.msg))), { issuer: DEVELOPMENT_ISSUER },
    'it says so at start-up')
  const keys = join(cwd, '.data', 'dev-keys')
  t.equal((await stat(join(keys, 'development-issuer.private.pem'))).mode & 0o777, 0o600, 'the private key is readable by its owner only')
  t.equal((await stat(keys)).mode & 0o777, 0o700)

  const issued = await runScript(TOKEN_JS, ['--sub', 'user_123'], { env, cwd })
  t.equal(issued.code, 0, issued.stderr)
  const token = issued.stdout.trim()
  t.match(token, /^[\w-]+\.[\w-]+\.[\w-]+$/, 'one compact token on stdout')
  const { header, payload } = decodeToken(token)
  t.match(header, { alg: 'RS256', typ: 'JWT' })
  t.match(payload, { iss: DEVELOPMENT_ISSUER, sub: 'user_123', sid: /.+/ })
  t.equal((payload.exp as number) - (payload.iat as number), 3600, 'valid for an hour by default')

  const me = await fetch(`${server.url}/v1/me`, { headers: { authorization: `Bearer ${token}` } })
  t.equal(me.status, 200)
  t.match(await me.json(), { user_id: 'user_123' })

  // `pnpm token -- --sub …` passes the separator through.
  const short = await runScript(TOKEN_JS, ['--', '--sub', 'user_456', '--ttl', '60'], { env, cwd })
  t.equal(short.code, 0, short.stderr)
  t.equal((decodeToken(short.stdout.trim()).payload.exp as number) - (decodeToken(short.stdout.trim()).payload.iat as number), 60)
  t.equal((await fetch(`${server.url}/v1/me`, { headers: { authorization: `Bearer ${short.stdout.trim()}` } })).status, 200)

  const refusals: Array<[string, string, string]> = [
    // Run elsewhere, the script makes (and signs with) another key pair.
    ['a token signed in another directory', (await runScript(TOKEN_JS, ['--sub', 'user_123'], { env, cwd: await workingDirectory(t) })).stdout.trim(), 'token_invalid_signature'],
    ['a key claiming the development issuer', await signJws(await createTestKey('RS256'), { typ: 'JWT' }, { ...payload }), 'token_invalid_signature'],
    ['a token of another issuer', signToken('user_123'), 'token_invalid_issuer']
  ]
  for (const [name, refused, code] of refusals) {
    const response = await fetch(`${server.url}/v1/me`, { headers: { authorization: `Bearer ${refused}` } })
    t.equal(response.status, 401, name)
    t.equal((await response.json() as { code: string }).code, code, name)
  }

  const usage = await runScript(TOKEN_JS, [], { env, cwd })
  t.equal(usage.code, 1)
  t.equal(usage.stdout, '')
  t.match(usage.stderr, /^usage: pnpm token -- --sub <user id>/)
  t.equal((await server.terminate()).code, 0)
})

t.test('the token script refuses NODE_ENV=production and prints no token', async (t) => {
  const cwd = await workingDirectory(t)
  const bare = await runScript(TOKEN_JS, ['--sub', 'user_123'], { env: { NODE_ENV: 'production' }, cwd })
  t.equal(bare.code, 1, 'an incomplete production configuration is refused first')
  t.equal(bare.stdout, '')
  t.match(bare.stderr, /^Invalid configuration/)

  const complete = productionEnv()
  const refused = await runScript(TOKEN_JS, ['--sub', 'user_123'], { env: complete, cwd })
  t.equal(refused.code, 1)
  t.equal(refused.stdout, '', 'no token')
  t.equal(refused.stderr, 'pnpm token signs development tokens only; it refuses NODE_ENV=production\n')
  for (const name of ['SECRET_KEY', 'METRICS_TOKEN', 'DATABASE_URL', 'REDIS_URL'] as const) {
    t.notOk(refused.stderr.includes(complete[name] as string), `${name} is not printed`)
  }
  t.notOk(existsSync(join(cwd, '.data')), 'no development key was made')

  const elsewhere = await runScript(TOKEN_JS, ['--sub', 'user_123'], { env: { NODE_ENV: 'development', AUTH_ISSUER: 'https://clerk.muejam.app' }, cwd })
  t.equal(elsewhere.code, 1, 'outside production too, with an issuer configured the API would not trust it')
  t.match(elsewhere.stderr, /AUTH_ISSUER is set/)
  t.notOk(existsSync(join(cwd, '.data')))
})

t.test('a production configuration without AUTH_ISSUER exits 78 before listening and makes no development key', async (t) => {
  const cwd = await workingDirectory(t)
  const env: Record<string, string> = productionEnv()
  delete env.AUTH_ISSUER
  const { code, stdout, stderr } = await runScript(SERVER_JS, [], { env, cwd })
  t.equal(code, 78, 'EX_CONFIG')
  t.match(stderr, /^Invalid configuration \(1 problem\):/, 'the only problem of an otherwise complete production configuration')
  t.match(stderr, '  - AUTH_ISSUER (')
  t.notMatch(stdout, /listening/, 'it never listened')
  for (const name of ['SECRET_KEY', 'METRICS_TOKEN', 'DATABASE_URL', 'REDIS_URL', 'SENTRY_DSN']) {
    t.notOk(`${stdout}${stderr}`.includes(env[name] as string), `${name} is not printed`)
  }
  t.notOk(existsSync(join(cwd, '.data')), 'the development issuer was never created')
})
