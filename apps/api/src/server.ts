import { setTimeout as sleep } from 'node:timers/promises'
import { ConfigError, loadConfig, type ConfigStore } from '@muejam/config'
import { captureCrash } from '@muejam/observability'
import closeWithGrace from 'close-with-grace'
import Fastify from 'fastify'
import app from './app.js'
import { SecretRedactor, secretValues, serverOptions } from './server-options.js'

async function loadOrExit (): Promise<ConfigStore> {
  try {
    return await loadConfig(process.env)
  } catch (error) {
    if (!(error instanceof ConfigError)) throw error
    process.stderr.write(`${error.message}\n`)
    process.exit(error.exitCode)
  }
}

const store = await loadOrExit()
const config = store.config
const secrets = new SecretRedactor(secretValues(config))
const server = Fastify(serverOptions(config, secrets))

// SIGTERM/SIGINT: readiness fails at once so load balancers stop sending; after the drain
// the server stops accepting, finishes in-flight requests and closes pools and Redis. Past
// SHUTDOWN_TIMEOUT_MS, or on a second signal, the process exits 1.
closeWithGrace({ delay: config.SHUTDOWN_TIMEOUT_MS, logger: server.log }, async ({ signal, err }) => {
  if (err) {
    server.log.fatal({ err }, 'crashed; shutting down')
    await captureCrash(err)
  } else {
    server.log.info({ signal, drain_ms: config.SHUTDOWN_DRAIN_MS }, 'shutting down')
  }
  if (server.hasDecorator('health')) server.health.startDraining()
  if (!err && config.SHUTDOWN_DRAIN_MS > 0) await sleep(config.SHUTDOWN_DRAIN_MS)
  await server.close()
  server.log.info('closed')
})

await server.register(app, { store, secrets })
await server.listen({ host: config.HOST, port: config.PORT })
