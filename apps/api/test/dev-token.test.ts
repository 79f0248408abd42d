import { randomBytes } from 'node:crypto'
import { existsSync } from 'node:fs'
import { mkdtemp, rm, stat, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join, relative } from 'node:path'
import { createTestKey, decodeToken, signToken as signJws } from '@muejam/testing/jwks'
import t from 'tap'
import { DEFAULT_DEV_KEYS_DIR } from '../src/config/repository-paths.js'
import { runScript, SERVER_JS, startApiProcess, TOKEN_JS, type ApiProcess } from './helpers/api-process.js'
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

/** Mints a token with `node dist/token.js` in `cwd`, failing the test on anything but exit 0. */
async function mint (args: string[], env: Record<string, string>, cwd: string): Promise<string> {
  const { code, stdout, stderr } = await runScript(TOKEN_JS, args, { env, cwd })
  if (code !== 0) throw new Error(`token.js exited ${code}: ${stderr}`)
  return stdout.trim()
}

async function meStatus (server: ApiProcess, token: string): Promise<{ status: number, code?: string }> {
  const response = await fetch(`${server.url}/v1/me`, { headers: { authorization: `Bearer ${token}` } })
  return response.status === 200 ? { status: 200 } : { status: response.status, code: (await response.json() as { code: string }).code }
}

t.test('a server with no AUTH_ISSUER trusts the development keys at the repository root, whatever the working directories of the server and the script', async (t) => {
  const env = { NODE_ENV: 'development' }
  // Minted first, from a directory of its own: the keys are made once, before the server reads them.
  const early = await mint(['--sub', 'user_123'], env, await workingDirectory(t))
  const server = await startApiProcess(t, { ...await databaseEnv(t, 'dev_token'), ...env }, { cwd: await workingDirectory(t), testAuth: false })
  t.match(server.logs().find((line) => line.level === 40 && /no AUTH_ISSUER/.test(String(line.msg))), { issuer: DEVELOPMENT_ISSUER, keys: DEFAULT_DEV_KEYS_DIR },
    'it says so at start-up, with the folder')
  t.equal((await stat(join(DEFAULT_DEV_KEYS_DIR, 'development-issuer.private.pem'))).mode & 0o777, 0o600, 'the private key is readable by its owner only')
  t.equal((await stat(DEFAULT_DEV_KEYS_DIR)).mode & 0o777, 0o700)

  const { header, payload } = decodeToken(early)
  t.match(header, { alg: 'RS256', typ: 'JWT' })
  t.match(payload, { iss: DEVELOPMENT_ISSUER, sub: 'user_123', sid: /.+/ })
  t.equal((payload.exp as number) - (payload.iat as number), 3600, 'valid for an hour by default')
  t.same(await meStatus(server, early), { status: 200 }, 'a token minted in another working directory is accepted')

  // `pnpm run token -- --sub …` passes the separator through; durations in s, m, h or plain seconds.
  const elsewhere = await workingDirectory(t)
  for (const [ttl, seconds] of [['90s', 90], ['15m', 900], ['1h', 3600], ['120', 120]] as const) {
    const token = await mint(['--', '--sub', 'user_456', '--ttl', ttl, '--sid', 'sess_cli'], env, elsewhere)
    const claims = decodeToken(token).payload
    t.equal((claims.exp as number) - (claims.iat as number), seconds, `--ttl ${ttl}`)
    t.equal(claims.sid, 'sess_cli')
    t.same(await meStatus(server, token), { status: 200 })
  }

  const otherKeys = join(await workingDirectory(t), 'keys')
  const refusals: Array<[string, string, string]> = [
    ['a token signed with keys in another DEV_KEYS_DIR', await mint(['--sub', 'user_123'], { ...env, DEV_KEYS_DIR: otherKeys }, elsewhere), 'token_invalid_signature'],
    ['a key claiming the development issuer', await signJws(await createTestKey('RS256'), { typ: 'JWT' }, { ...payload }), 'token_invalid_signature'],
    ['a token of another issuer', signToken('user_123'), 'token_invalid_issuer']
  ]
  for (const [name, refused, code] of refusals) t.same(await meStatus(server, refused), { status: 401, code }, name)
  t.equal((await server.terminate()).code, 0)
})

t.test('DEV_KEYS_DIR moves the keys for the server and the script alike; a relative one is taken from the working directory', async (t) => {
  const home = await workingDirectory(t)
  const keys = join(home, 'my-keys')
  const server = await startApiProcess(t, { ...await databaseEnv(t, 'dev_token_dir'), NODE_ENV: 'development', DEV_KEYS_DIR: keys }, { cwd: await workingDirectory(t), testAuth: false })
  t.equal((await stat(join(keys, 'development-issuer.private.pem'))).mode & 0o777, 0o600)
  const elsewhere = await workingDirectory(t)
  const absolute = await mint(['--sub', 'user_dir'], { DEV_KEYS_DIR: keys }, elsewhere)
  t.same(await meStatus(server, absolute), { status: 200 })
  const fromRelative = await mint(['--sub', 'user_dir'], { DEV_KEYS_DIR: relative(elsewhere, keys) }, elsewhere)
  t.same(await meStatus(server, fromRelative), { status: 200 })
  const fromRepository = await mint(['--sub', 'user_dir'], {}, elsewhere)
  t.same(await meStatus(server, fromRepository), { status: 401, code: 'token_invalid_signature' }, 'the default keys are not these')
})

t.test('--help prints the usage on stdout and exits 0', async (t) => {
  const cwd = await workingDirectory(t)
  for (const flag of ['--help', '-h']) {
    const help = await runScript(TOKEN_JS, ['--', flag], { env: { DEV_KEYS_DIR: join(cwd, 'keys') }, cwd })
    t.equal(help.code, 0)
    t.equal(help.stderr, '')
    t.match(help.stdout, /^Prints a session token/)
    t.match(help.stdout, '\nusage: pnpm run token -- --sub <user id> [--sid <session id>] [--ttl <duration>] [--azp <origin>]\n')
    t.match(help.stdout, /--ttl <duration> +how long it is valid: 90s, 15m, 1h/)
    t.match(help.stdout, 'DEV_KEYS_DIR')
  }
  t.notOk(existsSync(join(cwd, 'keys')), 'help makes no key')
})

t.test('a wrong command line gets one line on stderr and exit 2: no stack trace, no token, no key', async (t) => {
  const cwd = await workingDirectory(t)
  const env = { NODE_ENV: 'development', DEV_KEYS_DIR: join(cwd, 'keys') }
  const cases: Array<[string[], string]> = [
    [[], '--sub <user id> is required'],
    [['--sub', ''], '--sub <user id> is required'],
    [['--sub', 'user_1', '--sid', ''], '--sid must not be empty'],
    [['--sub', 'user_1', '--frobnicate'], 'unknown option --frobnicate'],
    [['--sub'], '--sub needs a value'],
    [['--sub', '--ttl', '1h'], '--sub needs a value'],
    [['--sub', 'user_1', 'extra'], 'unexpected argument extra; options take their value as --name value'],
    [['--help=yes'], '--help takes no value'],
    [['--sub', 'user_1', '--ttl', '1d'], '--ttl must be a positive duration such as 90s, 15m, 1h or 3600 (seconds), not "1d"'],
    [['--sub', 'user_1', '--ttl', '1.5h'], '--ttl must be a positive duration such as 90s, 15m, 1h or 3600 (seconds), not "1.5h"'],
    [['--sub', 'user_1', '--ttl', '0s'], '--ttl must be a positive duration such as 90s, 15m, 1h or 3600 (seconds), not "0s"'],
    [['--sub', 'user_1', '--ttl', 'soon'], '--ttl must be a positive duration such as 90s, 15m, 1h or 3600 (seconds), not "soon"'],
    [['--sub', 'user_1', '--ttl=-5'], '--ttl must be a positive duration such as 90s, 15m, 1h or 3600 (seconds), not "-5"']
  ]
  for (const [args, message] of cases) {
    const { code, stdout, stderr } = await runScript(TOKEN_JS, args, { env, cwd })
    t.equal(code, 2, args.join(' '))
    t.equal(stdout, '')
    t.equal(stderr, `pnpm run token: ${message} (see pnpm run token -- --help)\n`)
  }
  t.notOk(existsSync(join(cwd, 'keys')), 'no development key was made')
})

t.test('the token script refuses NODE_ENV=production and prints no token', async (t) => {
  const cwd = await workingDirectory(t)
  const keys = join(cwd, 'keys')
  const bare = await runScript(TOKEN_JS, ['--sub', 'user_123'], { env: { NODE_ENV: 'production', DEV_KEYS_DIR: keys }, cwd })
  t.equal(bare.code, 1, 'an incomplete production configuration is refused first')
  t.equal(bare.stdout, '')
  t.match(bare.stderr, /^Invalid configuration/)

  const complete = productionEnv()
  const refused = await runScript(TOKEN_JS, ['--sub', 'user_123'], { env: { ...complete, DEV_KEYS_DIR: keys }, cwd })
  t.equal(refused.code, 1)
  t.equal(refused.stdout, '', 'no token')
  t.equal(refused.stderr, 'pnpm token signs development tokens only; it refuses NODE_ENV=production\n')
  for (const name of ['SECRET_KEY', 'METRICS_TOKEN', 'DATABASE_URL', 'REDIS_URL'] as const) {
    t.notOk(refused.stderr.includes(complete[name] as string), `${name} is not printed`)
  }
  t.notOk(existsSync(keys), 'no development key was made')

  const elsewhere = await runScript(TOKEN_JS, ['--sub', 'user_123'], { env: { NODE_ENV: 'development', AUTH_ISSUER: 'https://clerk.muejam.app', DEV_KEYS_DIR: keys }, cwd })
  t.equal(elsewhere.code, 1, 'outside production too, with an issuer configured the API would not trust it')
  t.match(elsewhere.stderr, /AUTH_ISSUER is set/)
  t.notOk(existsSync(keys))
})

t.test('keys that cannot be made are one line on stderr, exit 1', async (t) => {
  const cwd = await workingDirectory(t)
  await writeFile(join(cwd, 'a-file'), '')
  const keys = join(cwd, 'a-file', 'keys')
  const { code, stdout, stderr } = await runScript(TOKEN_JS, ['--sub', 'user_123'], { env: { DEV_KEYS_DIR: keys }, cwd })
  t.equal(code, 1)
  t.equal(stdout, '')
  t.equal(stderr, `pnpm run token: cannot use the development keys in ${keys}: ENOTDIR: not a directory, mkdir '${keys}'\n`)
  t.equal(stderr.split('\n').length, 2, 'one line')
})

t.test('a production configuration without AUTH_ISSUER exits 78 before listening and makes no development key', async (t) => {
  const cwd = await workingDirectory(t)
  const keys = join(cwd, 'keys')
  const env: Record<string, string> = { ...productionEnv(), DEV_KEYS_DIR: keys }
  delete env.AUTH_ISSUER
  const { code, stdout, stderr } = await runScript(SERVER_JS, [], { env, cwd })
  t.equal(code, 78, 'EX_CONFIG')
  t.match(stderr, /^Invalid configuration \(1 problem\):/, 'the only problem of an otherwise complete production configuration')
  t.match(stderr, '  - AUTH_ISSUER (')
  t.notMatch(stdout, /listening/, 'it never listened')
  for (const name of ['SECRET_KEY', 'METRICS_TOKEN', 'DATABASE_URL', 'REDIS_URL', 'SENTRY_DSN']) {
    t.notOk(`${stdout}${stderr}`.includes(env[name] as string), `${name} is not printed`)
  }
  t.notOk(existsSync(keys), 'the development issuer was never created')
})
