import { EventEmitter } from 'node:events'
import { inspect } from 'node:util'
import type { RuleProblem } from './errors.js'
import { checkLoadOptions } from './options.js'
import { DefaultValues, resolveConfig, type ResolvedConfig, type ResolveOptions, type RuleContext, type Values } from './resolve-config.js'
import { secretsManagerVariables, type SecretsManagerVariables } from './secrets-manager-variables.js'
import type { Config, ConfigSource, DerivedConfig, Env, Schema } from './types.js'

export interface ConfigStoreEvents {
  /** A refresh changed these variables (names only). */
  rotate: [variables: string[]]
  /** A refresh failed; the last good values stay in force. */
  'refresh-error': [error: Error]
}

/** A schema with the variables the package reads itself (AWS_SECRETS_MANAGER_*). */
export type FullSchema<S extends Schema> = Omit<S, keyof SecretsManagerVariables> & SecretsManagerVariables

/** What `loadConfig` resolves to for a schema `S` and a `derive` result `D`. */
export type LoadedConfig<S extends Schema, D extends object = Record<never, never>> = DerivedConfig<FullSchema<S>, D>

export interface LoadConfigOptions<S extends Schema, D extends object = Record<never, never>> {
  /** The variables the service reads, built from the package's validators. */
  schema: S
  /** Environment to read. Default: `process.env`. */
  env?: Env
  /**
   * Values computed from others once every variable is valid (a default that depends on
   * another variable); what it returns replaces or extends the schema's values.
   */
  derive?: (config: Config<FullSchema<S>>) => D
  /**
   * Rules between variables, run once every variable is valid, after `derive`. Return the
   * problems found (`undefined` entries are skipped); `context.production` is NODE_ENV=production.
   */
  rules?: (config: LoadedConfig<S, D>, context: RuleContext) => ReadonlyArray<RuleProblem | undefined>
}

/**
 * Holds the current configuration. `config` is a frozen view whose getters always read the
 * latest good values, so consumers that read a rotating value when they need it (a
 * database password for each new connection) pick up a rotation without a restart.
 */
export class ConfigStore<C extends object = Values> extends EventEmitter<ConfigStoreEvents> {
  readonly config: C
  /** Names of the variables flagged secret: redacted when the configuration is printed. */
  readonly secretNames: readonly string[]
  readonly #env: Env
  readonly #options: ResolveOptions
  readonly #defaults: DefaultValues
  #current: ResolvedConfig
  #timer: NodeJS.Timeout | undefined

  private constructor (env: Env, options: ResolveOptions, defaults: DefaultValues, initial: ResolvedConfig) {
    super()
    this.#env = env
    this.#options = options
    this.#defaults = defaults
    this.#current = initial
    this.secretNames = Object.entries(options.schema).filter(([, variable]) => variable.secret).map(([name]) => name)
    const view: Record<PropertyKey, unknown> = {}
    for (const name of Object.keys(initial.values)) {
      Object.defineProperty(view, name, { enumerable: true, get: () => this.#current.values[name] })
    }
    Object.defineProperty(view, 'toJSON', { value: () => this.#redacted() })
    Object.defineProperty(view, inspect.custom, { value: () => this.#redacted() })
    this.config = Object.freeze(view) as C
    const every = initial.values.AWS_SECRETS_MANAGER_REFRESH_MS as number
    if (initial.values.AWS_SECRETS_MANAGER_SECRET_ID !== undefined && every > 0) {
      this.#timer = setInterval(() => { this.refresh().catch(() => {}) }, every).unref()
    }
  }

  /** Loads and validates; rejects with a ConfigError listing every problem. */
  static async load<S extends Schema, D extends object = Record<never, never>> (
    options: LoadConfigOptions<S, D> & { secretsManagerModule?: string }
  ): Promise<ConfigStore<LoadedConfig<S, D>>> {
    checkLoadOptions(options)
    const env = options.env ?? process.env
    const resolve: ResolveOptions = {
      schema: { ...options.schema, ...secretsManagerVariables },
      derive: options.derive as ResolveOptions['derive'],
      rules: options.rules as ResolveOptions['rules'],
      secretsManagerModule: options.secretsManagerModule
    }
    const defaults = new DefaultValues()
    return new ConfigStore<LoadedConfig<S, D>>(env, resolve, defaults, await resolveConfig(env, resolve, defaults))
  }

  /** Where each variable's current value came from. */
  get sources (): Readonly<Record<string, ConfigSource>> {
    return this.#current.sources
  }

  /** Every secret variable's current value (each item of a list), to scrub from logs. */
  secretValues (): string[] {
    return this.secretNames.flatMap((name) => {
      const value = this.#current.values[name]
      if (value === undefined) return []
      return Array.isArray(value) ? value.map(String) : [String(value)]
    })
  }

  #redacted (): Record<string, unknown> {
    const copy: Record<string, unknown> = { ...this.#current.values }
    for (const name of this.secretNames) if (copy[name] !== undefined) copy[name] = '[redacted]'
    return copy
  }

  /**
   * Re-reads every source. On success the new values apply at once and the names of the
   * changed variables are returned; on failure the last good values stay and it rejects.
   */
  async refresh (): Promise<string[]> {
    let next: ResolvedConfig
    try {
      next = await resolveConfig(this.#env, this.#options, this.#defaults)
    } catch (error) {
      this.emit('refresh-error', error as Error)
      throw error
    }
    const changed = Object.keys(this.#current.values).filter((name) =>
      JSON.stringify(next.values[name]) !== JSON.stringify(this.#current.values[name]))
    this.#current = next
    if (changed.length > 0) this.emit('rotate', changed)
    return changed
  }

  close (): void {
    clearInterval(this.#timer)
  }
}

/**
 * Loads and validates the configuration a schema describes; rejects with a ConfigError
 * listing every problem. `store.config` is typed from the schema.
 */
export function loadConfig<S extends Schema, D extends object = Record<never, never>> (options: LoadConfigOptions<S, D>): Promise<ConfigStore<LoadedConfig<S, D>>> {
  return ConfigStore.load(options)
}
