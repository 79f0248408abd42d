import { createRequire } from 'node:module'
import type { Config } from './config/index.js'

type PinoPretty = typeof import('pino-pretty')

/** Where log lines go: the process's stdout, or a stand-in in tests. */
export interface LogOutput {
  readonly isTTY?: boolean
  write (text: string): unknown
}

/** Readable lines for a person at a terminal; JSON lines for machines, and always in production. */
export function wantsPrettyLogs (config: Pick<Config, 'NODE_ENV'>, output: LogOutput): boolean {
  return config.NODE_ENV !== 'production' && output.isTTY === true
}

/**
 * A stream that turns each JSON line into pino-pretty's form as it is written, with no
 * worker thread or buffer in between, so the last lines before a crash or exit are not lost.
 * It receives lines after the logger's redaction, so a secret stays hidden here too.
 */
export function prettyLogStream (output: LogOutput): { write (line: string): void } {
  // Loaded here, not at start-up: production never writes pretty lines.
  const { prettyFactory } = createRequire(import.meta.url)('pino-pretty') as PinoPretty
  const prettify = prettyFactory({ colorize: true, translateTime: 'SYS:HH:MM:ss.l', ignore: 'pid,hostname' })
  return { write: (line) => { output.write(prettify(line)) } }
}
