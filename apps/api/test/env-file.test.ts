import { randomBytes } from 'node:crypto'
import { cp, mkdir, mkdtemp, readFile, rm, symlink, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { ConfigError } from '@muejam/config'
import t from 'tap'
import { withEnvFile } from '../src/config/env-file.js'
import { ENV_FILE, REPOSITORY_ROOT } from '../src/config/repository-paths.js'
import { runScript, startApiProcess } from './helpers/api-process.js'
import { TEST_AUTH_ENV } from './helpers/auth.js'
import { databaseEnv } from './helpers/build.js'

interface Test {
  teardown(fn: () => unknown): void
}

const API_ROOT = fileURLToPath(new URL('..', import.meta.url))

async function temporaryDirectory (t: Test): Promise<string> {
  const directory = await mkdtemp(join(tmpdir(), 'muejam-env-file-'))
  t.teardown(() => rm(directory, { recursive: true, force: true }))
  return directory
}

/**
 * Another checkout of the built API: its own root (where `.env` is looked for), its own
 * `apps/api/dist`, and the real node_modules. Returns the root and its entry points.
 */
async function checkout (t: Test, envFile: string) {
  const root = await temporaryDirectory(t)
  const api = join(root, 'apps', 'api')
  await mkdir(api, { recursive: true })
  await cp(join(API_ROOT, 'dist'), join(api, 'dist'), { recursive: true })
  await cp(join(API_ROOT, 'package.json'), join(api, 'package.json'))
  await symlink(join(API_ROOT, 'node_modules'), join(api, 'node_modules'))
  await writeFile(join(root, '.env'), envFile)
  return { root, server: join(api, 'dist', 'server.js'), token: join(api, 'dist', 'token.js') }
}

t.test('the .env file sits at the repository root, and git ignores it', async (t) => {
  t.equal(ENV_FILE, join(REPOSITORY_ROOT, '.env'))
  t.match(await readFile(join(REPOSITORY_ROOT, '.gitignore'), 'utf8'), /^\.env$/m)
})

t.test('in development the file completes the environment and never overrides it', async (t) => {
  const file = join(await temporaryDirectory(t), '.env')
  await writeFile(file, [
    '# a comment',
    'PORT=4000',
    'LOG_LEVEL=debug',
    'export RATE_LIMIT_MAX=7',
    'CORS_ORIGINS="https://app.example.org, http://localhost:*"',
    'DEBUG=true',
    ''
  ].join('\n'))
  for (const mode of [undefined, '', 'development']) {
    const real = { NODE_ENV: mode, PORT: '3001', DEBUG: '' }
    const { env, file: read, loaded } = await withEnvFile(real, file)
    t.equal(read, file)
    t.same(loaded, ['CORS_ORIGINS', 'LOG_LEVEL', 'RATE_LIMIT_MAX'], `NODE_ENV=${String(mode)}: the variables the environment lacks`)
    t.same(env, { ...real, LOG_LEVEL: 'debug', RATE_LIMIT_MAX: '7', CORS_ORIGINS: 'https://app.example.org, http://localhost:*' })
    t.same(real, { NODE_ENV: mode, PORT: '3001', DEBUG: '' }, 'the environment given is not changed')
  }
})

t.test('in production and test the file is never read, even a broken one', async (t) => {
  const directory = await temporaryDirectory(t)
  for (const mode of ['production', 'test']) {
    const real = { NODE_ENV: mode }
    t.same(await withEnvFile(real, directory), { env: real, file: undefined, loaded: [] }, `NODE_ENV=${mode}`)
  }
  const missing = { NODE_ENV: 'development' }
  t.same(await withEnvFile(missing, join(directory, '.env')), { env: missing, file: undefined, loaded: [] }, 'no file, nothing read')
})

t.test('a file that sets another NODE_ENV, or cannot be read, is a configuration problem', async (t) => {
  const directory = await temporaryDirectory(t)
  const file = join(directory, '.env')
  await writeFile(file, 'NODE_ENV=production\nPORT=4000\n')
  const refused = await withEnvFile({}, file).then(() => undefined, (error: unknown) => error)
  t.ok(refused instanceof ConfigError)
  t.same((refused as ConfigError).problems, [{
    variable: file,
    purpose: 'development environment file',
    problem: 'sets NODE_ENV=production; the file is read in development only',
    fix: 'remove NODE_ENV from the file and set it in the real environment'
  }])
  t.same((await withEnvFile({ NODE_ENV: 'development' }, file)).loaded, ['PORT'], 'the real NODE_ENV wins over the file')
  await writeFile(file, 'NODE_ENV=development\n')
  t.same((await withEnvFile({}, file)).loaded, ['NODE_ENV'], 'development itself is allowed')

  const unreadable = await withEnvFile({}, directory).then(() => undefined, (error: unknown) => error)
  t.ok(unreadable instanceof ConfigError)
  t.match((unreadable as ConfigError).problems, [{ variable: directory, problem: 'could not be read (EISDIR)' }])
})

t.test('the built server and token script read the .env at their repository root, whatever the working directory', async (t) => {
  const { DATABASE_URL } = await databaseEnv(t, 'env_file')
  const keys = join(await temporaryDirectory(t), 'keys')
  const { root, server, token } = await checkout(t, [
    `DATABASE_URL=${DATABASE_URL}`,
    'MIGRATE_ON_START=true',
    'RATE_LIMIT_MAX=7',
    `DEV_KEYS_DIR=${keys}`,
    // The real environment's port wins.
    'PORT=1',
    ''
  ].join('\n'))
  const api = await startApiProcess(t, { NODE_ENV: 'development' }, { serverJs: server, cwd: await temporaryDirectory(t), testAuth: false })
  t.match(api.logs().find((line) => line.event === 'env_file.loaded'), {
    level: 30,
    file: join(root, '.env'),
    variables: ['DATABASE_URL', 'DEV_KEYS_DIR', 'MIGRATE_ON_START', 'RATE_LIMIT_MAX']
  }, 'it says which variables it took, not their values')
  t.notOk(api.output().includes(DATABASE_URL), 'the database URL is not printed')
  const feed = await api.request('/v1/stories')
  t.equal(feed.status, 200)
  t.equal(feed.headers['x-ratelimit-limit'], '7', 'RATE_LIMIT_MAX came from the file')

  const minted = await runScript(token, ['--sub', 'user_env'], { env: {}, cwd: await temporaryDirectory(t) })
  t.equal(minted.code, 0, minted.stderr)
  const me = await api.request({ path: '/v1/me', headers: { authorization: `Bearer ${minted.stdout.trim()}` } })
  t.equal(me.status, 200, 'the script signed with the DEV_KEYS_DIR of the same file')
})

t.test('the built server never reads .env in production or test', async (t) => {
  // Read, this file would fail any configuration: an invalid value, and the production rules' DEBUG.
  const { server, token } = await checkout(t, 'BODY_LIMIT_BYTES=a lot\nDEBUG=true\n')
  const cwd = await temporaryDirectory(t)
  const production: Record<string, string> = {
    NODE_ENV: 'production',
    SECRET_KEY: randomBytes(48).toString('base64url'),
    SENTRY_DSN: `https://${randomBytes(16).toString('hex')}@o1.ingest.sentry.io/1`,
    METRICS_TOKEN: randomBytes(32).toString('base64url'),
    DATABASE_URL: `postgres://muejam:${randomBytes(16).toString('base64url')}@db.internal:5432/muejam`,
    REDIS_URL: `redis://:${randomBytes(16).toString('base64url')}@cache.internal:6379`,
    PUBLIC_URL: 'https://api.muejam.app'
  }
  const refused = await runScript(server, [], { env: production, cwd })
  t.equal(refused.code, 78)
  t.match(refused.stderr, /^Invalid configuration \(1 problem\):\n {2}- AUTH_ISSUER \(/, 'only the real environment\'s own problem')
  const tokenRefused = await runScript(token, ['--sub', 'user_1'], { env: { ...production, ...TEST_AUTH_ENV }, cwd })
  t.equal(tokenRefused.stderr, 'pnpm token signs development tokens only; it refuses NODE_ENV=production\n')

  const tested = await startApiProcess(t, { ...await databaseEnv(t, 'env_file_test'), NODE_ENV: 'test' }, { serverJs: server, cwd })
  t.equal((await tested.request('/v1/stories')).status, 200, 'NODE_ENV=test starts without the file')
  t.equal(tested.logs().filter((line) => line.event === 'env_file.loaded').length, 0)
})

t.test('a .env that sets NODE_ENV=production stops the built server with exit 78', async (t) => {
  const { root, server } = await checkout(t, 'NODE_ENV=production\n')
  const { code, stdout, stderr } = await runScript(server, [], { env: {}, cwd: await temporaryDirectory(t) })
  t.equal(code, 78)
  t.equal(stdout, '')
  t.equal(stderr, `Invalid configuration (1 problem):\n  - ${join(root, '.env')} (development environment file) sets NODE_ENV=production; the file is read in development only. Fix: remove NODE_ENV from the file and set it in the real environment.\n`)
})
