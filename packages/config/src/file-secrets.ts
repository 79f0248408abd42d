import { readFileSync } from 'node:fs'
import type { Problem } from './errors.js'

/**
 * Reads `NAME_FILE` (Docker and Kubernetes secrets) into `NAME`, trailing newline trimmed.
 * Returns the names it filled and the files it could not read.
 */
export function readFileSecrets (raw: Record<string, string>, names: readonly string[]) {
  const filled: string[] = []
  const problems: Problem[] = []
  for (const name of names) {
    const path = raw[`${name}_FILE`]
    if (path === undefined) continue
    try {
      raw[name] = readFileSync(path, 'utf8').replace(/\r?\n$/, '')
      filled.push(name)
    } catch (error) {
      problems.push({
        variable: `${name}_FILE`,
        purpose: `file that holds ${name}`,
        problem: `cannot be read (${(error as NodeJS.ErrnoException).code})`,
        fix: 'point it at a readable file, or unset it'
      })
    }
  }
  return { filled, problems }
}
