import type { FastifyInstance } from 'fastify'
import fp from 'fastify-plugin'
import { ConfigStore, loadConfig } from './config-store.js'
import type { VariableName } from './schema.js'
import type { Config, ConfigSource, Env } from './types.js'

export { ConfigStore, loadConfig } from './config-store.js'
export type { ConfigStoreEvents } from './config-store.js'
export { ConfigError, EX_CONFIG, type Problem } from './errors.js'
export { checkProductionRules, productionRules } from './production-rules.js'
export { SECRET_VARIABLES, VARIABLE_NAMES, type VariableName } from './schema.js'
export type { Config, ConfigSource, Env } from './types.js'
export { checkSecret, isExampleSecret, secret } from './validators.js'

export interface ConfigPluginOptions {
  /** A store loaded beforehand (e.g. by the server, to fail before building the app). */
  store?: ConfigStore
  /** Environment to load when no store is given. Default: `process.env`. */
  env?: Env
}

declare module 'fastify' {
  interface FastifyInstance {
    /** The validated configuration; rotated secrets show up here without a restart. */
    config: Config
  }
}

function namesBySource (sources: Readonly<Record<VariableName, ConfigSource>>) {
  const grouped: Partial<Record<ConfigSource, VariableName[]>> = {}
  for (const [name, source] of Object.entries(sources) as Array<[VariableName, ConfigSource]>) {
    if (source !== 'default') (grouped[source] ??= []).push(name)
  }
  return grouped
}

async function configPlugin (app: FastifyInstance, options: ConfigPluginOptions) {
  const store = options.store ?? await loadConfig(options.env ?? process.env)
  app.decorate('config', store.config)
  app.log.info({ audit: true, event: 'config.loaded', outcome: 'success', sources: namesBySource(store.sources) }, 'configuration loaded')

  const onRotate = (variables: VariableName[]) => {
    app.log.info({ audit: true, event: 'config.secret_rotated', outcome: 'success', variables }, 'configuration rotation applied')
  }
  const onRefreshError = (error: Error) => {
    app.log.warn({ event: 'config.refresh_failed', reason: error.message }, 'configuration refresh failed; keeping the last good values')
  }
  store.on('rotate', onRotate)
  store.on('refresh-error', onRefreshError)
  app.addHook('onClose', async () => {
    store.off('rotate', onRotate)
    store.off('refresh-error', onRefreshError)
    store.close()
  })
}

export const muejamConfig = fp(configPlugin, { name: '@muejam/config', fastify: '>=5.12.0 <6' })
export default muejamConfig
