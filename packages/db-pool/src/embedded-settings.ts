import { InvalidOptionError } from './errors.js'

/** PostgreSQL settings of the embedded database, by name: `{ shared_buffers: '16MB' }`. */
export type EmbeddedSettings = Record<string, string | number>

/**
 * What the embedded database runs with unless `embedded.settings` says otherwise.
 * PostgreSQL's own 128MB of shared buffers is most of PGlite's resident memory: the buffer
 * pool lives in the WASM heap, which never shrinks. 16MB holds a development database.
 */
export const EMBEDDED_DEFAULT_SETTINGS: Readonly<Record<string, string>> = Object.freeze({
  shared_buffers: '16MB'
})

const SETTING_NAME = /^[a-z_][a-z0-9_]*(\.[a-z_][a-z0-9_]*)?$/i

/** The defaults overridden by `settings`, every value a string; throws on anything unusable. */
export function resolveEmbeddedSettings (settings: unknown): Record<string, string> {
  if (settings === undefined) return { ...EMBEDDED_DEFAULT_SETTINGS }
  if (settings === null || typeof settings !== 'object' || Array.isArray(settings)) {
    throw new InvalidOptionError('embedded.settings', 'must be an object of PostgreSQL settings, like { shared_buffers: \'16MB\' }')
  }
  const resolved: Record<string, string> = { ...EMBEDDED_DEFAULT_SETTINGS }
  for (const [name, value] of Object.entries(settings)) {
    if (!SETTING_NAME.test(name)) throw new InvalidOptionError('embedded.settings', `"${name}" is not a PostgreSQL setting name`)
    if (typeof value === 'number' && Number.isFinite(value)) resolved[name] = String(value)
    else if (typeof value === 'string' && value !== '' && !value.includes('\0')) resolved[name] = value
    else throw new InvalidOptionError(`embedded.settings.${name}`, 'must be a non-empty string or a finite number')
  }
  return resolved
}

/** PGlite's start parameters followed by one `-c name=value` per setting. */
export function startParamsWith (defaults: readonly string[], settings: Readonly<Record<string, string>>): string[] {
  return [...defaults, ...Object.entries(settings).flatMap(([name, value]) => ['-c', `${name}=${value}`])]
}
