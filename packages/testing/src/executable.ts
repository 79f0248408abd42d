import { accessSync, constants, statSync } from 'node:fs'
import { delimiter, join } from 'node:path'

/** The sbin folders a user's PATH often lacks, where Debian puts daemons such as nginx and pgbouncer. */
export const SBIN_DIRS: readonly string[] = ['/usr/local/sbin', '/usr/sbin', '/sbin']

export interface FindExecutableOptions {
  /** An environment variable naming the executable's path; when set, it is the only place looked. */
  envVar?: string
  /** Folders searched after the PATH, in order. */
  extraDirs?: readonly string[]
}

function isExecutable (path: string): boolean {
  try {
    accessSync(path, constants.X_OK)
    return statSync(path).isFile()
  } catch {
    return false
  }
}

/**
 * The path of the executable `name`: the one `envVar` names, else the first found on the PATH
 * or in `extraDirs`; null when there is none. A set `envVar` that is not executable gives null
 * rather than another copy, so a wrong override is noticed.
 */
export function findExecutable (name: string, { envVar, extraDirs = [] }: FindExecutableOptions = {}): string | null {
  const override = envVar === undefined ? undefined : process.env[envVar]
  if (override !== undefined && override !== '') return isExecutable(override) ? override : null
  for (const dir of [...(process.env.PATH ?? '').split(delimiter), ...extraDirs]) {
    if (dir !== '' && isExecutable(join(dir, name))) return join(dir, name)
  }
  return null
}
