import { Writable } from 'node:stream'
import { startFakeSecretsManager } from '@muejam/testing/aws-secrets-manager'
import Fastify from 'fastify'
import t from 'tap'
import configPlugin, { ConfigError, loadConfig } from '../src/index.js'
import { productionEnv, STRONG_SECRET_KEY } from './helpers/env.js'

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

t.test('decorates app.config from a given environment and logs which sources were used, not values', async (t) => {
  const { lines, logger } = capturedLogger()
  const app = Fastify({ logger })
  t.teardown(() => app.close())
  await app.register(configPlugin, { env: { PORT: '4321', SECRET_KEY: STRONG_SECRET_KEY } })
  await app.ready()
  t.equal(app.config.PORT, 4321)
  const loaded = lines.find((line) => line.event === 'config.loaded')
  t.match(loaded, { audit: true, outcome: 'success', sources: { environment: ['PORT', 'SECRET_KEY'] } })
  t.notMatch(JSON.stringify(lines), STRONG_SECRET_KEY)
})

t.test('uses a store loaded beforehand and reads process.env by default', async (t) => {
  const store = await loadConfig({ HOST: '::1' })
  const app = Fastify()
  t.teardown(() => app.close())
  await app.register(configPlugin, { store })
  t.equal(app.config, store.config)
  t.equal(app.config.HOST, '::1')

  const fromProcess = Fastify()
  t.teardown(() => fromProcess.close())
  await fromProcess.register(configPlugin)
  t.equal(fromProcess.config.NODE_ENV, process.env.NODE_ENV ?? 'development')
})

t.test('registration fails with the ConfigError when the environment is invalid', async (t) => {
  const app = Fastify()
  t.teardown(() => app.close())
  await t.rejects(async () => { await app.register(configPlugin, { env: { PORT: 'x' } }) }, ConfigError)
})

t.test('rotations are audit-logged by name and failed refreshes warned, values never logged', async (t) => {
  const aws = await startFakeSecretsManager(t, 'muejam/prod', { SECRET_KEY: STRONG_SECRET_KEY })
  const store = await loadConfig(productionEnv({ ...aws.env, AWS_SECRETS_MANAGER_REFRESH_MS: '0' }))
  const { lines, logger } = capturedLogger()
  const app = Fastify({ logger })
  await app.register(configPlugin, { store })
  await app.ready()

  const rotated = `${STRONG_SECRET_KEY}-next`
  aws.setSecret({ SECRET_KEY: rotated })
  await store.refresh()
  aws.failWith({ status: 500, type: 'InternalServiceError', message: 'unavailable' })
  await store.refresh().catch(() => {})
  await app.close()
  aws.failWith(null)
  aws.setSecret({ SECRET_KEY: STRONG_SECRET_KEY })
  await store.refresh()

  t.match(lines.find((line) => line.event === 'config.secret_rotated'), { audit: true, variables: ['SECRET_KEY'], level: 30 })
  t.match(lines.find((line) => line.event === 'config.refresh_failed'), { level: 40, reason: /InternalServiceError/ })
  t.equal(lines.filter((line) => line.event === 'config.secret_rotated').length, 1, 'a closed app stops listening')
  t.notMatch(JSON.stringify(lines), rotated)
})
