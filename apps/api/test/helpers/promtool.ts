import { spawn } from 'node:child_process'
import { findExecutable } from '@muejam/testing/executable'

/*
 * Prometheus's promtool, as the alert and metrics tests run it. Debian's `prometheus` package
 * ships it; scripts/test-setup.sh installs that package before `pnpm test`.
 */

export const PROMTOOL_MISSING = 'promtool not found. It ships with Debian\'s prometheus package: ' +
  'sudo apt-get install --no-install-recommends prometheus (`pnpm test` installs it through scripts/test-setup.sh), ' +
  'or set PROMTOOL_BIN to a promtool of your own.'

/** PROMTOOL_BIN, then the PATH; null when neither has it. */
export function findPromtool (): string | null {
  return findExecutable('promtool', { envVar: 'PROMTOOL_BIN' })
}

export interface PromtoolResult {
  code: number | null
  /** stdout and stderr together, as a person running it would read them. */
  output: string
}

/** Runs `promtool <args>` (with `input` on its standard input), within 60 s. */
export function promtool (bin: string, args: string[], input?: string): Promise<PromtoolResult> {
  return new Promise((resolve, reject) => {
    const child = spawn(bin, args, { stdio: ['pipe', 'pipe', 'pipe'], timeout: 60_000 })
    let output = ''
    child.stdout.setEncoding('utf8').on('data', (chunk: string) => { output += chunk })
    child.stderr.setEncoding('utf8').on('data', (chunk: string) => { output += chunk })
    child.on('error', reject)
    child.on('close', (code) => resolve({ code, output }))
    child.stdin.end(input)
  })
}
