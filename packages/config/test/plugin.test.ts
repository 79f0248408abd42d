import { Writable } from 'node:stream'
import { startFakeSecretsManager } from '@muejam/testing/aws-secrets-manager'
import Fastify from 'fastify'
import t from 'tap'
import configPlugin, { ConfigError, InvalidOptionError, loadConfig, string, type LoadedConfig } from '../src/index.js'
import { productionEnv, serviceSchema, STRONG_API_KEY } from './helpers/service-schema.js'

declare module '../src/index.js' {
  interface ConfigTypes extends LoadedConfig<typeof serviceSchema> {}
}

function capturedLogger () {
  const lines: Array<Record<string, unknown>> = []
  const stream = new Writable({
    write (chunk, _encoding, done) {
      lines.push(JSON.parse(chunk.toString()))
      done()
    }
  })
  return { lines, logger: { level: 'info', stream } }
}

t.test('decorates app.config from a schema and an environment; logs which sources were used, not values', async (t) => {
  const { lines, logger } = capturedLogger()
  const app = Fastify({ logger })
  t.teardown(() => app.close())
  await app.register(configPlugin, { env: { PORT: '4321', API_KEY: STRONG_API_KEY }, schema: serviceSchema })
  app.get('/port', async () => ({ port: app.config.PORT }))
  t.same((await app.inject('/port')).json(), { port: 4321 })
  const loaded = lines.find((line) => line.event === 'config.loaded')
  t.match(loaded, { audit: true, outcome: 'success', sources: { environment: ['PORT', 'API_KEY'] } })
  t.notMatch(JSON.stringify(lines), STRONG_API_KEY)
})

t.test('uses a store loaded beforehand, and reads process.env by default', async (t) => {
  const store = await loadConfig({ env: { PORT: '1' }, schema: serviceSchema })
  const app = Fastify()
  t.teardown(() => app.close())
  await app.register(configPlugin, { store })
  t.equal(app.config, store.config)
  t.equal(app.config.PORT, 1)

  const fromProcess = Fastify()
  t.teardown(() => fromProcess.close())
  await fromProcess.register(configPlugin, { schema: { HOME_DIR: string({ default: undefined }), PATH: string({ default: '' }) } })
  t.equal((fromProcess.config as unknown as { PATH: string }).PATH, process.env.PATH ?? '')
})

t.test('derive and rules apply through the plugin too', async (t) => {
  const app = Fastify()
  t.teardown(() => app.close())
  await app.register(configPlugin, { env: {}, schema: serviceSchema, derive: (config) => ({ ORIGIN: `http://127.0.0.1:${config.PORT}` }) })
  t.equal((app.config as unknown as { ORIGIN: string }).ORIGIN, 'http://127.0.0.1:3000')
  const refused = Fastify()
  t.teardown(() => refused.close())
  await t.rejects(async () => {
    await refused.register(configPlugin, { env: {}, schema: serviceSchema, rules: () => [{ variable: 'PORT', problem: 'is refused', fix: 'none' }] })
  }, { name: 'ConfigError', message: /PORT \(listen port\) is refused/ })
})

t.test('registration fails with the ConfigError when the environment is invalid', async (t) => {
  const app = Fastify()
  t.teardown(() => app.close())
  await t.rejects(async () => { await app.register(configPlugin, { env: { PORT: 'x' }, schema: serviceSchema }) }, ConfigError)
})

t.test('a misused plugin or loadConfig throws InvalidOptionError at once', async (t) => {
  const cases: Array<[unknown, string]> = [
    [{}, 'Invalid @muejam/config option "schema": is required'],
    [{ schema: [] }, 'Invalid @muejam/config option "schema": must be an object'],
    [{ schema: { PORT: 3000 } }, 'Invalid @muejam/config option "schema": PORT must be a validator such as string() or integer()'],
    [{ schema: { PORT: null } }, 'Invalid @muejam/config option "schema": PORT must be a validator such as string() or integer()'],
    [{ schema: serviceSchema, env: 'PORT=1' }, 'Invalid @muejam/config option "env": must be an object'],
    [{ schema: serviceSchema, derive: {} }, 'Invalid @muejam/config option "derive": must be a function'],
    [{ schema: serviceSchema, rules: [] }, 'Invalid @muejam/config option "rules": must be a function'],
    [{ store: {} }, 'Invalid @muejam/config option "store": must be a ConfigStore from loadConfig()']
  ]
  for (const [options, message] of cases) {
    const app = Fastify()
    t.teardown(() => app.close())
    await t.rejects(async () => { await app.register(configPlugin, options as never) }, { name: 'InvalidOptionError', code: 'MUEJAM_CONFIG_INVALID_OPTION', message }, message)
  }
  await t.rejects(loadConfig({} as never), InvalidOptionError)
  t.ok(new InvalidOptionError('schema', 'x') instanceof TypeError)
})

t.test('rotations are audit-logged by name and failed refreshes warned, values never logged', async (t) => {
  const aws = await startFakeSecretsManager(t, 'service/prod', { API_KEY: STRONG_API_KEY })
  const store = await loadConfig({ env: productionEnv({ ...aws.env, AWS_SECRETS_MANAGER_REFRESH_MS: '0' }), schema: serviceSchema })
  const { lines, logger } = capturedLogger()
  const app = Fastify({ logger })
  await app.register(configPlugin, { store })
  await app.ready()

  const rotated = `${STRONG_API_KEY}-next`
  aws.setSecret({ API_KEY: rotated })
  await store.refresh()
  aws.failWith({ status: 500, type: 'InternalServiceError', message: 'unavailable' })
  await store.refresh().catch(() => {})
  await app.close()
  aws.failWith(null)
  aws.setSecret({ API_KEY: STRONG_API_KEY })
  await store.refresh()

  t.match(lines.find((line) => line.event === 'config.secret_rotated'), { audit: true, variables: ['API_KEY'], level: 30 })
  t.match(lines.find((line) => line.event === 'config.refresh_failed'), { level: 40, reason: /InternalServiceError/ })
  t.equal(lines.filter((line) => line.event === 'config.secret_rotated').length, 1, 'a closed app stops listening')
  t.notMatch(JSON.stringify(lines), rotated)
})
