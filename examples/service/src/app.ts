import Fastify from 'fastify'
import { registerAuth } from './auth.js'
import { registerConfig, type ServiceConfigStore } from './config.js'
import { registerDatabase } from './database.js'
import { registerHealth } from './health.js'
import { observabilityServerOptions, registerObservability } from './observability.js'
import { registerProblem } from './problem.js'
import { registerRateLimit } from './rate-limit.js'
import { noteRoutes } from './routes/notes.js'
import { reportRoutes } from './routes/reports.js'
import { registerTimeouts, timeoutServerOptions } from './timeouts.js'

/** The service: each package registered in its own file, in this order, then the routes. */
export async function buildApp (store: ServiceConfigStore) {
  const app = Fastify({
    ...observabilityServerOptions(store.config),
    ...timeoutServerOptions(store.config)
  })
  await registerObservability(app)
  await registerProblem(app)
  await registerConfig(app, store)
  await registerHealth(app)
  await registerTimeouts(app)
  await registerDatabase(app)
  await registerAuth(app)
  await registerRateLimit(app)
  await app.register(noteRoutes)
  await app.register(reportRoutes)
  return app
}
