import type { FastifyInstance } from 'fastify'
import fp from 'fastify-plugin'
import { ConfigStore, loadConfig, type LoadConfigOptions } from './config-store.js'
import { InvalidOptionError } from './options.js'
import type { ConfigSource, Schema } from './types.js'

export { ConfigStore, loadConfig } from './config-store.js'
export type { ConfigStoreEvents, FullSchema, LoadConfigOptions, LoadedConfig } from './config-store.js'
export { InvalidOptionError } from './options.js'
export { ConfigError, EX_CONFIG, type Problem, type RuleProblem } from './errors.js'
export type { RuleContext } from './resolve-config.js'
export { secretsManagerVariables, type SecretsManagerVariables } from './secrets-manager-variables.js'
export { checkSecret, GENERATE_SECRET_HINT, isExampleSecret } from './secret-strength.js'
export type { Config, ConfigSource, DerivedConfig, Env, Schema } from './types.js'
export { boolean, integer, list, number, oneOf, oneOf as enum, parseUrl, port, secret, splitList, string, url } from './validators.js'
export {
  InvalidValue, makeValidator, type DefaultValue, type Parser, type ProductionRule, type RuleResult, type ValueOf,
  type Variable, type VariableOptions
} from './variable.js'

/**
 * The type of `app.config`. Declare yours once, next to your schema:
 *
 * ```ts
 * declare module '@muejam/config' {
 *   interface ConfigTypes extends LoadedConfig<typeof schema> {}
 * }
 * ```
 */
export interface ConfigTypes {}

export type ConfigPluginOptions<S extends Schema = Schema, D extends object = Record<never, never>> =
  | {
    /** A store loaded beforehand (e.g. by the server, to fail before building the app). */
    store: ConfigStore<object>
  }
  | (Omit<LoadConfigOptions<S, D>, 'env'> & {
    store?: undefined
    /** Environment to load. Default: `process.env`. */
    env?: LoadConfigOptions<S, D>['env']
  })

declare module 'fastify' {
  interface FastifyInstance {
    /** The validated configuration; rotated secrets show up here without a restart. Typed through `ConfigTypes`. */
    config: Readonly<ConfigTypes>
  }
}

function namesBySource (sources: Readonly<Record<string, ConfigSource>>) {
  const grouped: Partial<Record<ConfigSource, string[]>> = {}
  for (const [name, source] of Object.entries(sources)) {
    if (source !== 'default') (grouped[source] ??= []).push(name)
  }
  return grouped
}

async function configPlugin (app: FastifyInstance, options: ConfigPluginOptions<Schema, object>) {
  if (options.store !== undefined && !(options.store instanceof ConfigStore)) {
    throw new InvalidOptionError('store', 'must be a ConfigStore from loadConfig()')
  }
  const store: ConfigStore<object> = options.store ?? await loadConfig(options)
  app.decorate('config', store.config as Readonly<ConfigTypes>)
  app.log.info({ audit: true, event: 'config.loaded', outcome: 'success', sources: namesBySource(store.sources) }, 'configuration loaded')

  const onRotate = (variables: string[]) => {
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
