import { chmod, mkdtemp, rm, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { startFakeSecretsManager } from '@muejam/testing/aws-secrets-manager'
import t from 'tap'
import { ConfigError, ConfigStore, loadConfig } from '../src/index.js'
import { loadSdk } from '../src/secrets-manager.js'
import { productionEnv, serviceSchema, STRONG_API_KEY } from './helpers/service-schema.js'

async function tempDir (t: { teardown(fn: () => unknown): void }) {
  const dir = await mkdtemp(join(tmpdir(), 'muejam-config-'))
  t.teardown(() => rm(dir, { recursive: true, force: true }))
  return dir
}

function load (env: Record<string, string | undefined>) {
  return loadConfig({ env, schema: serviceSchema })
}

async function problemsOf (env: Record<string, string | undefined>) {
  const error = await load(env).then(() => null, (e: unknown) => e)
  if (!(error instanceof ConfigError)) throw new Error('expected a ConfigError')
  return error.problems
}

t.test('NAME_FILE wins over NAME, trailing newline trimmed; sources say where each value came from', async (t) => {
  const dir = await tempDir(t)
  const file = join(dir, 'api_key')
  await writeFile(file, `${STRONG_API_KEY}\n`)
  const store = await load(productionEnv({ API_KEY: 'from-the-environment', API_KEY_FILE: file }))
  t.equal(store.config.API_KEY, STRONG_API_KEY)
  t.equal(store.sources.API_KEY, 'file')
  t.equal(store.sources.DATABASE_URL, 'environment')
  t.equal(store.sources.PORT, 'default')
})

t.test('an unreadable NAME_FILE is a problem naming the file variable', async (t) => {
  const dir = await tempDir(t)
  const locked = join(dir, 'locked')
  await writeFile(locked, 'x')
  await chmod(locked, 0o000)
  const problems = await problemsOf({ DATABASE_URL_FILE: join(dir, 'missing'), API_KEY_FILE: dir })
  t.same(problems.map((p) => p.variable), ['DATABASE_URL_FILE', 'API_KEY_FILE'])
  t.match(problems[0]?.problem, /cannot be read \(ENOENT\)/)
  t.match(problems[1]?.problem, /cannot be read \(EISDIR\)/)
})

t.test('Secrets Manager values win over the environment and files, and only the schema\'s names are taken', async (t) => {
  const dir = await tempDir(t)
  const file = join(dir, 'database_url')
  await writeFile(file, 'postgres://app:from-file-Kq7wP2@db/app\n')
  const rotatedKey = `${STRONG_API_KEY}-sm`
  const aws = await startFakeSecretsManager(t, 'service/prod', { API_KEY: rotatedKey, DATABASE_URL: 'postgres://app:from-sm-Zx81@db/app', UNRELATED: 'ignored' })
  const store = await load(productionEnv({ ...aws.env, DATABASE_URL_FILE: file }))
  t.teardown(() => store.close())
  t.equal(store.config.API_KEY, rotatedKey)
  t.equal(store.config.DATABASE_URL, 'postgres://app:from-sm-Zx81@db/app')
  t.equal(store.sources.API_KEY, 'aws-secrets-manager')
  t.equal(store.sources.DATABASE_URL, 'aws-secrets-manager')
  t.notOk('UNRELATED' in store.config)
  t.equal(store.config.AWS_SECRETS_MANAGER_SECRET_ID, 'service/prod')
  t.equal(aws.calls, 1)
})

t.test('Secrets Manager values are validated like any other source', async (t) => {
  const aws = await startFakeSecretsManager(t, 'service/prod', { API_KEY: 'changeme-changeme-changeme-changeme-changeme-changeme' })
  const problems = await problemsOf(productionEnv(aws.env))
  t.same(problems.map((p) => p.variable), ['API_KEY'])
})

t.test('a Secrets Manager failure at start-up fails start-up, never a silent fallback', async (t) => {
  const aws = await startFakeSecretsManager(t, 'service/prod', {})
  aws.failWith({ status: 400, type: 'AccessDeniedException', message: 'User is not authorized to perform secretsmanager:GetSecretValue' })
  const [problem, ...rest] = await problemsOf(productionEnv(aws.env))
  t.equal(rest.length, 0)
  t.equal(problem?.variable, 'AWS_SECRETS_MANAGER_SECRET_ID')
  t.equal(problem?.purpose, 'AWS Secrets Manager secret (JSON object of NAME to value) merged into the configuration')
  t.match(problem?.problem, /could not be fetched: AccessDeniedException/)
})

t.test('an unknown secret id and an unreachable endpoint fail start-up', async (t) => {
  const aws = await startFakeSecretsManager(t, 'service/prod', {})
  const unknown = await problemsOf({ ...aws.env, AWS_SECRETS_MANAGER_SECRET_ID: 'service/other' })
  t.match(unknown[0]?.problem, /ResourceNotFoundException/)
  const unreachable = await problemsOf({ ...aws.env, AWS_ENDPOINT_URL_SECRETS_MANAGER: 'http://127.0.0.1:1' })
  t.equal(unreachable[0]?.variable, 'AWS_SECRETS_MANAGER_SECRET_ID')
})

t.test('a secret that is not a JSON object of NAME to value fails start-up', async (t) => {
  for (const [value, reason] of [['not json', /is not JSON/], ['[1,2]', /not a JSON object/], ['null', /not a JSON object/], [null, /binary secrets are not supported/]] as const) {
    const aws = await startFakeSecretsManager(t, 'service/raw', {})
    aws.setRawSecret(value)
    t.match((await problemsOf(aws.env))[0]?.problem, reason)
  }
})

t.test('numbers and booleans in the secret are read as text; other members are ignored', async (t) => {
  const aws = await startFakeSecretsManager(t, 'service/typed', {})
  aws.setRawSecret(JSON.stringify({ PORT: 8443, VERBOSE: true, FEATURES: { nested: true }, GREETING: null }))
  const store = await load(aws.env)
  t.equal(store.config.PORT, 8443)
  t.equal(store.config.VERBOSE, true)
  t.same(store.config.FEATURES, [])
  t.equal(store.config.GREETING, undefined)
})

t.test('a rotated value is seen after a refresh, through the same config object', async (t) => {
  const aws = await startFakeSecretsManager(t, 'service/prod', { API_KEY: STRONG_API_KEY })
  const store = await load(productionEnv({ ...aws.env, AWS_SECRETS_MANAGER_REFRESH_MS: '0' }))
  t.teardown(() => store.close())
  const config = store.config
  const rotations: string[][] = []
  store.on('rotate', (names) => rotations.push(names))
  const rotated = `${STRONG_API_KEY}-rotated`
  aws.setSecret({ API_KEY: rotated })
  t.same(await store.refresh(), ['API_KEY'])
  t.equal(config.API_KEY, rotated)
  t.same(rotations, [['API_KEY']])
  t.same(await store.refresh(), [], 'an unchanged secret rotates nothing')
})

t.test('the refresh timer re-reads the secret on its own', async (t) => {
  const aws = await startFakeSecretsManager(t, 'service/prod', { API_KEY: STRONG_API_KEY })
  const store = await load(productionEnv({ ...aws.env, AWS_SECRETS_MANAGER_REFRESH_MS: '50' }))
  t.teardown(() => store.close())
  const rotated = `${STRONG_API_KEY}-timer`
  aws.setSecret({ API_KEY: rotated })
  const [names] = await new Promise<[string[]]>((resolve) => store.once('rotate', (...args) => resolve(args)))
  t.same(names, ['API_KEY'])
  t.equal(store.config.API_KEY, rotated)
})

t.test('a failed refresh keeps the last good values; a refused rotated value is not echoed', async (t) => {
  const aws = await startFakeSecretsManager(t, 'service/prod', { API_KEY: STRONG_API_KEY })
  const store = await load(productionEnv({ ...aws.env, AWS_SECRETS_MANAGER_REFRESH_MS: '0' }))
  t.teardown(() => store.close())
  const errors: Error[] = []
  store.on('refresh-error', (error) => errors.push(error))

  aws.failWith({ status: 500, type: 'InternalServiceError', message: 'try again' })
  await t.rejects(store.refresh(), ConfigError)
  t.equal(store.config.API_KEY, STRONG_API_KEY)

  aws.failWith(null)
  aws.setSecret({ API_KEY: 'too-short-a-key' })
  await t.rejects(store.refresh(), ConfigError, 'an invalid rotated value is refused')
  t.equal(store.config.API_KEY, STRONG_API_KEY)
  t.equal(errors.length, 2)
  t.notMatch(errors[1]?.message, 'too-short-a-key')
})

t.test('an invalid AWS_SECRETS_MANAGER_REFRESH_MS is a problem like any other', async (t) => {
  const problems = await problemsOf({ AWS_SECRETS_MANAGER_REFRESH_MS: 'often' })
  t.same(problems.map((p) => [p.variable, p.problem, p.fix]), [['AWS_SECRETS_MANAGER_REFRESH_MS', 'must be a whole number from 0 to 9007199254740991', 'milliseconds, e.g. 300000']])
})

t.test('the SDK\'s generic endpoint and region variables work too; missing credentials or region fail start-up', async (t) => {
  const aws = await startFakeSecretsManager(t, 'service/generic', { PORT: '1234' })
  const generic = {
    AWS_SECRETS_MANAGER_SECRET_ID: 'service/generic',
    AWS_ENDPOINT_URL: aws.env.AWS_ENDPOINT_URL_SECRETS_MANAGER,
    AWS_DEFAULT_REGION: 'eu-west-1'
  }
  const store = await load({ ...generic, AWS_ACCESS_KEY_ID: 'AKIDLOCAL', AWS_SECRET_ACCESS_KEY: 'local' })
  t.equal(store.config.PORT, 1234)

  const saved = { ...process.env }
  t.teardown(() => { process.env = saved })
  process.env = { ...saved, AWS_PROFILE: 'service-test-profile-that-does-not-exist' }
  for (const name of ['AWS_ACCESS_KEY_ID', 'AWS_SECRET_ACCESS_KEY', 'AWS_REGION', 'AWS_DEFAULT_REGION']) delete process.env[name]
  t.equal((await problemsOf(generic))[0]?.variable, 'AWS_SECRETS_MANAGER_SECRET_ID', 'no credentials anywhere is a configuration error')
  t.match((await problemsOf({ AWS_SECRETS_MANAGER_SECRET_ID: 'service/generic' }))[0]?.problem, /could not be fetched: .*[Rr]egion/, 'no region is a configuration error')
})

t.test('without the optional SDK installed, Secrets Manager is a problem naming the package to install', async (t) => {
  await t.rejects(loadSdk('@aws-sdk/client-secrets-manager-not-installed'), {
    name: 'MissingPeerError',
    code: 'MUEJAM_CONFIG_MISSING_PEER',
    message: 'AWS Secrets Manager (AWS_SECRETS_MANAGER_SECRET_ID) needs the optional peer dependency @aws-sdk/client-secrets-manager, which is not installed: run `npm install @aws-sdk/client-secrets-manager`'
  })
  const error = await ConfigStore.load({
    env: { AWS_SECRETS_MANAGER_SECRET_ID: 'service/prod' },
    schema: serviceSchema,
    secretsManagerModule: '@aws-sdk/client-secrets-manager-not-installed'
  }).catch((e: unknown) => e)
  t.ok(error instanceof ConfigError)
  t.equal((error as ConfigError).exitCode, 78)
  t.same((error as ConfigError).problems, [{
    variable: 'AWS_SECRETS_MANAGER_SECRET_ID',
    purpose: 'AWS Secrets Manager secret (JSON object of NAME to value) merged into the configuration',
    problem: 'needs @aws-sdk/client-secrets-manager, which is not installed (npm install @aws-sdk/client-secrets-manager)',
    fix: 'npm install @aws-sdk/client-secrets-manager, or unset AWS_SECRETS_MANAGER_SECRET_ID'
  }])
})

t.test('a module that fails for another reason is not mistaken for a missing SDK', async (t) => {
  const dir = await tempDir(t)
  const broken = join(dir, 'broken.mjs')
  await writeFile(broken, 'throw new Error("broken at import")\n')
  await t.rejects(loadSdk(broken), { message: 'broken at import' })
})

t.test('the SDK is not loaded when Secrets Manager is not configured', async (t) => {
  const store = await ConfigStore.load({ env: {}, schema: serviceSchema, secretsManagerModule: '@aws-sdk/client-secrets-manager-not-installed' })
  t.equal(store.config.PORT, 3000)
})
