import { ConfigError, loadConfig } from '@muejam/config'
import closeWithGrace from 'close-with-grace'
import Fastify from 'fastify'
import app from './app.js'
import { serverOptions } from './server-options.js'

async function start () {
  let store
  try {
    store = await loadConfig(process.env)
  } catch (error) {
    if (!(error instanceof ConfigError)) throw error
    process.stderr.write(`${error.message}\n`)
    process.exit(error.exitCode)
  }
  const config = store.config
  const server = Fastify(serverOptions(config))

  closeWithGrace({ delay: config.SHUTDOWN_TIMEOUT_MS }, async ({ signal, err }) => {
    if (err) server.log.error({ err }, 'shutting down after a crash')
    else server.log.info({ signal }, 'shutting down')
    await server.close()
  })

  await server.register(app, { store })
  await server.listen({ host: config.HOST, port: config.PORT })
}

await start()
