import { chmod, mkdtemp, rm, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { startFakeSecretsManager } from '@muejam/testing/aws-secrets-manager'
import t from 'tap'
import { ConfigError, loadConfig } from '../src/index.js'
import { productionEnv, STRONG_METRICS_TOKEN, STRONG_SECRET_KEY } from './helpers/env.js'

async function tempDir (t: { teardown(fn: () => unknown): void }) {
  const dir = await mkdtemp(join(tmpdir(), 'muejam-config-'))
  t.teardown(() => rm(dir, { recursive: true, force: true }))
  return dir
}

t.test('NAME_FILE wins over NAME, trailing newline trimmed', async (t) => {
  const dir = await tempDir(t)
  const file = join(dir, 'secret_key')
  await writeFile(file, `${STRONG_SECRET_KEY}\n`)
  const store = await loadConfig(productionEnv({ SECRET_KEY: 'from-the-environment', SECRET_KEY_FILE: file }))
  t.equal(store.config.SECRET_KEY, STRONG_SECRET_KEY)
  t.equal(store.sources.SECRET_KEY, 'file')
  t.equal(store.sources.METRICS_TOKEN, 'environment')
  t.equal(store.sources.PORT, 'default')
})

t.test('an unreadable NAME_FILE is a configuration problem naming the file variable', async (t) => {
  const dir = await tempDir(t)
  const locked = join(dir, 'locked')
  await writeFile(locked, 'x')
  await chmod(locked, 0o000)
  const error = await loadConfig({ SECRET_KEY_FILE: join(dir, 'missing'), METRICS_TOKEN_FILE: dir }).catch((e: unknown) => e)
  t.ok(error instanceof ConfigError)
  const problems = (error as ConfigError).problems
  t.same(problems.map((p) => p.variable), ['SECRET_KEY_FILE', 'METRICS_TOKEN_FILE'])
  t.match(problems[0]?.problem, /cannot be read \(ENOENT\)/)
  t.match(problems[1]?.problem, /cannot be read \(EISDIR\)/)
})

t.test('Secrets Manager values win over the environment and files', async (t) => {
  const dir = await tempDir(t)
  const file = join(dir, 'metrics_token')
  await writeFile(file, 'file-token-file-token-file-token-file\n')
  const rotatedKey = `${STRONG_SECRET_KEY}-sm`
  const aws = await startFakeSecretsManager(t, 'muejam/prod', { SECRET_KEY: rotatedKey, METRICS_TOKEN: STRONG_METRICS_TOKEN, UNRELATED: 'ignored' })
  const store = await loadConfig(productionEnv({ ...aws.env, METRICS_TOKEN_FILE: file }))
  t.teardown(() => store.close())
  t.equal(store.config.SECRET_KEY, rotatedKey)
  t.equal(store.config.METRICS_TOKEN, STRONG_METRICS_TOKEN)
  t.equal(store.sources.SECRET_KEY, 'aws-secrets-manager')
  t.equal(store.sources.METRICS_TOKEN, 'aws-secrets-manager')
  t.equal(aws.calls, 1)
})

t.test('Secrets Manager values are validated like any other source', async (t) => {
  const aws = await startFakeSecretsManager(t, 'muejam/prod', { SECRET_KEY: 'changeme-changeme-changeme-changeme-changeme-changeme' })
  const error = await loadConfig(productionEnv(aws.env)).catch((e: unknown) => e)
  t.ok(error instanceof ConfigError)
  t.same((error as ConfigError).problems.map((p) => p.variable), ['SECRET_KEY'])
})

t.test('a Secrets Manager failure at start-up fails start-up, never a silent fallback', async (t) => {
  const aws = await startFakeSecretsManager(t, 'muejam/prod', {})
  aws.failWith({ status: 400, type: 'AccessDeniedException', message: 'User is not authorized to perform secretsmanager:GetSecretValue' })
  const error = await loadConfig(productionEnv(aws.env)).catch((e: unknown) => e)
  t.ok(error instanceof ConfigError)
  const [problem] = (error as ConfigError).problems
  t.equal(problem?.variable, 'AWS_SECRETS_MANAGER_SECRET_ID')
  t.match(problem?.problem, /could not be fetched: AccessDeniedException/)
})

t.test('an unknown secret id and a non-JSON secret both fail start-up', async (t) => {
  const aws = await startFakeSecretsManager(t, 'muejam/prod', {})
  const unknown = await loadConfig({ ...aws.env, AWS_SECRETS_MANAGER_SECRET_ID: 'muejam/other' }).catch((e: unknown) => e)
  t.match((unknown as ConfigError).problems[0]?.problem, /ResourceNotFoundException/)
  const unreachable = await loadConfig({ ...aws.env, AWS_ENDPOINT_URL_SECRETS_MANAGER: 'http://127.0.0.1:1' }).catch((e: unknown) => e)
  t.equal((unreachable as ConfigError).problems[0]?.variable, 'AWS_SECRETS_MANAGER_SECRET_ID')
})

t.test('a rotated value is seen after a refresh, through the same config object', async (t) => {
  const aws = await startFakeSecretsManager(t, 'muejam/prod', { SECRET_KEY: STRONG_SECRET_KEY })
  const store = await loadConfig(productionEnv({ ...aws.env, AWS_SECRETS_MANAGER_REFRESH_MS: '0' }))
  t.teardown(() => store.close())
  const config = store.config
  const rotations: string[][] = []
  store.on('rotate', (names) => rotations.push(names))
  const rotated = `${STRONG_SECRET_KEY}-rotated`
  aws.setSecret({ SECRET_KEY: rotated })
  t.same(await store.refresh(), ['SECRET_KEY'])
  t.equal(config.SECRET_KEY, rotated)
  t.same(rotations, [['SECRET_KEY']])
  t.same(await store.refresh(), [], 'an unchanged secret rotates nothing')
})

t.test('the refresh timer re-reads the secret on its own', async (t) => {
  const aws = await startFakeSecretsManager(t, 'muejam/prod', { SECRET_KEY: STRONG_SECRET_KEY })
  const store = await loadConfig(productionEnv({ ...aws.env, AWS_SECRETS_MANAGER_REFRESH_MS: '50' }))
  t.teardown(() => store.close())
  const rotated = `${STRONG_SECRET_KEY}-timer`
  aws.setSecret({ SECRET_KEY: rotated })
  const [names] = await new Promise<[string[]]>((resolve) => store.once('rotate', (...args) => resolve(args)))
  t.same(names, ['SECRET_KEY'])
  t.equal(store.config.SECRET_KEY, rotated)
})

t.test('a failed refresh keeps the last good values', async (t) => {
  const aws = await startFakeSecretsManager(t, 'muejam/prod', { SECRET_KEY: STRONG_SECRET_KEY })
  const store = await loadConfig(productionEnv({ ...aws.env, AWS_SECRETS_MANAGER_REFRESH_MS: '0' }))
  t.teardown(() => store.close())
  const errors: Error[] = []
  store.on('refresh-error', (error) => errors.push(error))

  aws.failWith({ status: 500, type: 'InternalServiceError', message: 'try again' })
  await t.rejects(store.refresh(), ConfigError)
  t.equal(store.config.SECRET_KEY, STRONG_SECRET_KEY)

  aws.failWith(null)
  aws.setSecret({ SECRET_KEY: 'too-short' })
  await t.rejects(store.refresh(), ConfigError, 'an invalid rotated value is refused')
  t.equal(store.config.SECRET_KEY, STRONG_SECRET_KEY)
  t.equal(errors.length, 2)
  t.notMatch(errors[1]?.message, 'too-short', 'the refused value is not echoed')
})

t.test('a secret that is not a JSON object of NAME to value fails start-up', async (t) => {
  for (const [value, reason] of [['not json', /is not JSON/], ['[1,2]', /not a JSON object/], ['null', /not a JSON object/], [null, /binary secrets are not supported/]] as const) {
    const aws = await startFakeSecretsManager(t, 'muejam/raw', {})
    aws.setRawSecret(value)
    const error = await loadConfig(aws.env).catch((e: unknown) => e)
    t.match((error as ConfigError).problems[0]?.problem, reason)
  }
})

t.test('numbers and booleans in the secret are read as text; other members are ignored', async (t) => {
  const aws = await startFakeSecretsManager(t, 'muejam/typed', {})
  aws.setRawSecret(JSON.stringify({ PORT: 8443, DEBUG: true, TRUST_PROXY: { nested: true }, HOST: null }))
  const store = await loadConfig(aws.env)
  t.equal(store.config.PORT, 8443)
  t.equal(store.config.DEBUG, true)
  t.same(store.config.TRUST_PROXY, [])
  t.equal(store.config.HOST, '127.0.0.1')
})

t.test('the SDK\'s generic endpoint and region variables work too; missing credentials fail start-up', async (t) => {
  const aws = await startFakeSecretsManager(t, 'muejam/generic', { PORT: '1234' })
  const generic = {
    AWS_SECRETS_MANAGER_SECRET_ID: 'muejam/generic',
    AWS_ENDPOINT_URL: aws.env.AWS_ENDPOINT_URL_SECRETS_MANAGER,
    AWS_DEFAULT_REGION: 'eu-west-1'
  }
  const store = await loadConfig({ ...generic, AWS_ACCESS_KEY_ID: 'AKIDLOCAL', AWS_SECRET_ACCESS_KEY: 'local' })
  t.equal(store.config.PORT, 1234)

  const saved = { id: process.env.AWS_ACCESS_KEY_ID, key: process.env.AWS_SECRET_ACCESS_KEY, profile: process.env.AWS_PROFILE }
  delete process.env.AWS_ACCESS_KEY_ID
  delete process.env.AWS_SECRET_ACCESS_KEY
  process.env.AWS_PROFILE = 'muejam-test-profile-that-does-not-exist'
  t.teardown(() => {
    if (saved.id !== undefined) process.env.AWS_ACCESS_KEY_ID = saved.id
    if (saved.key !== undefined) process.env.AWS_SECRET_ACCESS_KEY = saved.key
    if (saved.profile === undefined) delete process.env.AWS_PROFILE
    else process.env.AWS_PROFILE = saved.profile
  })
  const error = await loadConfig(generic).catch((e: unknown) => e)
  t.ok(error instanceof ConfigError, 'no credentials anywhere is a configuration error')
  t.equal((error as ConfigError).problems[0]?.variable, 'AWS_SECRETS_MANAGER_SECRET_ID')

  const saved2 = { region: process.env.AWS_REGION, defaultRegion: process.env.AWS_DEFAULT_REGION }
  delete process.env.AWS_REGION
  delete process.env.AWS_DEFAULT_REGION
  t.teardown(() => {
    if (saved2.region !== undefined) process.env.AWS_REGION = saved2.region
    if (saved2.defaultRegion !== undefined) process.env.AWS_DEFAULT_REGION = saved2.defaultRegion
  })
  const noRegion = await loadConfig({ AWS_SECRETS_MANAGER_SECRET_ID: 'muejam/generic' }).catch((e: unknown) => e)
  t.match((noRegion as ConfigError).problems[0]?.problem, /could not be fetched: .*[Rr]egion/, 'no region is a configuration error')
})
