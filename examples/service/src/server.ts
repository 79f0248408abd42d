import { buildApp } from './app.js'
import { loadServiceConfig } from './config.js'

const store = await loadServiceConfig()
const app = await buildApp(store)

for (const signal of ['SIGINT', 'SIGTERM'] as const) {
  process.once(signal, () => {
    app.log.info({ signal }, 'shutting down')
    app.close().then(() => process.exit(0), (error: unknown) => {
      app.log.error({ err: error }, 'shutdown failed')
      process.exit(1)
    })
  })
}

await app.listen({ host: store.config.HOST, port: store.config.PORT })
