import { loadConfig, type ConfigStore as Store, type Env, type LoadedConfig } from '@muejam/config'
import { deriveApiConfig } from './derive.js'
import { apiConfigRules } from './rules.js'
import { apiSchema } from './schema.js'

export { apiSchema } from './schema.js'

/** The API's validated configuration, as `app.config` holds it. */
export type Config = LoadedConfig<typeof apiSchema, ReturnType<typeof deriveApiConfig>>
export type ConfigStore = Store<Config>

declare module '@muejam/config' {
  interface ConfigTypes extends Config {}
}

/** What loadConfig and the config plugin take to describe the API. */
export const apiConfigOptions = { schema: apiSchema, derive: deriveApiConfig, rules: apiConfigRules }

/** Variables whose values are secrets: never printed, logged or serialised. */
export const SECRET_VARIABLES = Object.entries(apiSchema).filter(([, variable]) => variable.secret).map(([name]) => name as keyof Config)

/** Loads and validates the API's configuration; rejects with a ConfigError listing every problem. */
export function loadApiConfig (env: Env = process.env): Promise<ConfigStore> {
  return loadConfig({ env, ...apiConfigOptions })
}
