import { readFile } from 'node:fs/promises'
import { parseEnv } from 'node:util'
import { ConfigError, type Env } from '@muejam/config'
import { ENV_FILE } from './repository-paths.js'

export interface EnvWithFile {
  /** The real environment, completed by the file's variables it did not set. */
  env: Env
  /** The file read, or undefined when none was (production, test, or no file). */
  file: string | undefined
  /** The variables taken from the file, sorted. */
  loaded: string[]
}

function fileProblem (file: string, problem: string, fix: string): ConfigError {
  return new ConfigError([{ variable: file, purpose: 'development environment file', problem, fix }])
}

async function readIfExists (file: string): Promise<string | undefined> {
  try {
    return await readFile(file, 'utf8')
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return undefined
    throw fileProblem(file, `could not be read (${(error as NodeJS.ErrnoException).code ?? 'unknown error'})`, 'make it a readable file, or remove it')
  }
}

/**
 * Reads the development `.env` (at the repository root unless `file` says otherwise) when
 * the real environment's NODE_ENV is unset or `development`, the way Node's
 * `--env-file-if-exists` would, but never in production or test: a variable set in the
 * real environment (even empty) always wins, and the file may not switch NODE_ENV to another mode.
 * Rejects with a ConfigError when the file cannot be read or sets another NODE_ENV.
 */
export async function withEnvFile (env: Env, file: string = ENV_FILE): Promise<EnvWithFile> {
  const mode = env.NODE_ENV === undefined || env.NODE_ENV === '' ? 'development' : env.NODE_ENV
  if (mode !== 'development') return { env, file: undefined, loaded: [] }
  const text = await readIfExists(file)
  if (text === undefined) return { env, file: undefined, loaded: [] }
  const values = parseEnv(text)
  const loaded = Object.keys(values).filter((name) => env[name] === undefined).sort()
  if (loaded.includes('NODE_ENV') && values.NODE_ENV !== '' && values.NODE_ENV !== 'development') {
    throw fileProblem(file, `sets NODE_ENV=${values.NODE_ENV}; the file is read in development only`, 'remove NODE_ENV from the file and set it in the real environment')
  }
  const merged: Record<string, string | undefined> = { ...env }
  for (const name of loaded) merged[name] = values[name]
  return { env: merged, file, loaded }
}
