import { secretsManagerVariables } from '@muejam/config'
import { apiSchema } from './schema.js'

/** Every variable the API reads: its own schema and the ones @muejam/config adds. */
export const allVariables = { ...apiSchema, ...secretsManagerVariables }

interface Described {
  readonly description: string | undefined
  readonly secret: boolean
  readonly default?: unknown
  readonly devDefault?: unknown
}

/** A default as it would be written in the environment; undefined for none or a computed one. */
function asText (value: unknown): string | undefined {
  if (value === undefined || typeof value === 'function') return undefined
  return Array.isArray(value) ? value.join(',') : String(value)
}

function entry (name: string, variable: Described): string {
  const development = 'devDefault' in variable ? variable.devDefault : variable.default
  const production = asText(variable.default)
  const notes = [
    typeof development === 'function' ? 'development: generated at each start' : undefined,
    'devDefault' in variable && !('default' in variable) ? 'required in production' : undefined,
    'devDefault' in variable && production !== undefined && production !== asText(development) ? `production default: ${production}` : undefined,
    variable.secret ? 'secret' : undefined
  ].filter((note) => note !== undefined)
  const comments = [variable.description ?? name, ...(notes.length > 0 ? [notes.join('; ')] : [])].map((line) => `# ${line}\n`)
  return `${comments.join('')}# ${name}=${asText(development) ?? ''}\n`
}

/**
 * The text of `.env.example`: every variable, commented out with its development value, so
 * a copy named `.env` changes nothing until a line is uncommented.
 */
export function renderEnvExample (): string {
  const header = [
    '# Local development settings for the muejam API. Copy this file to .env at the repository',
    '# root (.env is git-ignored) and uncomment what you change. .env is read when NODE_ENV is',
    '# unset or development, never in production or test; a variable set in the real',
    '# environment wins over the file. Every variable can also be set as NAME_FILE.',
    '# Generated from apps/api/src/config/schema.ts: pnpm run generate:env-example',
    ''
  ].join('\n')
  return `${header}\n${Object.entries(allVariables).map(([name, variable]) => entry(name, variable as Described)).join('\n')}`
}
