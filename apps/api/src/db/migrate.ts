import { ConfigError } from '@muejam/config'
import dbPool from '@muejam/db-pool'
import Fastify from 'fastify'
import { withEnvFile } from '../config/env-file.js'
import { loadApiConfig } from '../config/index.js'
import { migrateToLatest } from './migrator.js'
import { dbPoolOptions } from './options.js'

/** `pnpm migrate`: applies pending migrations to DATABASE_URL, or to the embedded database. */
async function migrate (): Promise<number> {
  let store
  try {
    store = await loadApiConfig((await withEnvFile(process.env)).env)
  } catch (error) {
    if (!(error instanceof ConfigError)) throw error
    process.stderr.write(`${error.message}\n`)
    return error.exitCode
  }
  const app = Fastify({ logger: { level: store.config.LOG_LEVEL } })
  try {
    await app.register(dbPool, { ...dbPoolOptions(store.config), healthCheck: false })
    await app.ready()
    const results = await migrateToLatest(app.db, app.log)
    app.log.info({ applied: results.length }, results.length === 0 ? 'the database is up to date' : 'migrations applied')
    return 0
  } catch (error) {
    app.log.error({ err: error }, 'migration failed')
    return 1
  } finally {
    await app.close()
    store.close()
  }
}

process.exitCode = await migrate()
