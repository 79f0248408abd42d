import { randomBytes } from 'node:crypto'
import { EventEmitter } from 'node:events'
import { inspect } from 'node:util'
import { resolveConfig, type ResolvedConfig } from './resolve-config.js'
import { SECRET_VARIABLES, VARIABLE_NAMES, type VariableName } from './schema.js'
import type { Config, ConfigSource, Env } from './types.js'

export interface ConfigStoreEvents {
  /** A refresh changed these variables (names only). */
  rotate: [variables: VariableName[]]
  /** A refresh failed; the last good values stay in force. */
  'refresh-error': [error: Error]
}

function redacted (values: Config): Record<string, unknown> {
  const copy: Record<string, unknown> = { ...values }
  for (const name of SECRET_VARIABLES) if (copy[name] !== undefined) copy[name] = '[redacted]'
  return copy
}

/**
 * Holds the current configuration. `config` is a frozen view whose getters always read the
 * latest good values, so consumers that read a rotating value when they need it (a
 * database password for each new connection) pick up a rotation without a restart.
 */
export class ConfigStore extends EventEmitter<ConfigStoreEvents> {
  readonly config: Config
  #current: ResolvedConfig
  #timer: NodeJS.Timeout | undefined

  private constructor (private readonly env: Env, private readonly devSecretKey: string, initial: ResolvedConfig) {
    super()
    this.#current = initial
    const view: Record<PropertyKey, unknown> = {}
    for (const name of VARIABLE_NAMES) {
      Object.defineProperty(view, name, { enumerable: true, get: () => this.#current.values[name] })
    }
    Object.defineProperty(view, 'toJSON', { value: () => redacted(this.#current.values) })
    Object.defineProperty(view, inspect.custom, { value: () => redacted(this.#current.values) })
    this.config = Object.freeze(view) as unknown as Config
    const every = initial.values.AWS_SECRETS_MANAGER_REFRESH_MS
    if (initial.values.AWS_SECRETS_MANAGER_SECRET_ID !== undefined && every > 0) {
      this.#timer = setInterval(() => { this.refresh().catch(() => {}) }, every).unref()
    }
  }

  static async load (env: Env): Promise<ConfigStore> {
    const devSecretKey = randomBytes(48).toString('base64url')
    return new ConfigStore(env, devSecretKey, await resolveConfig(env, devSecretKey))
  }

  /** Where each variable's current value came from. */
  get sources (): Readonly<Record<VariableName, ConfigSource>> {
    return this.#current.sources
  }

  /**
   * Re-reads every source. On success the new values apply at once and the names of the
   * changed variables are returned; on failure the last good values stay and it rejects.
   */
  async refresh (): Promise<VariableName[]> {
    let next: ResolvedConfig
    try {
      next = await resolveConfig(this.env, this.devSecretKey)
    } catch (error) {
      this.emit('refresh-error', error as Error)
      throw error
    }
    const changed = VARIABLE_NAMES.filter((name) =>
      JSON.stringify(next.values[name]) !== JSON.stringify(this.#current.values[name]))
    this.#current = next
    if (changed.length > 0) this.emit('rotate', changed)
    return changed
  }

  close (): void {
    clearInterval(this.#timer)
  }
}

/** Loads and validates the configuration; rejects with a ConfigError listing every problem. */
export function loadConfig (env: Env = process.env): Promise<ConfigStore> {
  return ConfigStore.load(env)
}
