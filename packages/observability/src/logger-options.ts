import type { FastifyServerOptions } from 'fastify'
import { REDACTED, SecretRedactor } from './redact.js'

/** The `logger` option of a Fastify server: Fastify's logger options and pino's. */
export type FastifyLoggerConfig = Exclude<FastifyServerOptions['logger'], boolean | undefined>

export interface LoggerOptionsInput {
  /** pino level. Default: `info`. */
  level?: string
  /**
   * Secret values to scrub from every log line wherever they appear (messages, nested
   * objects, error stacks). Pass a `SecretRedactor` to add rotated values later.
   */
  secrets?: Iterable<string> | SecretRedactor
}

/** Header names that carry credentials, wherever a header bag is logged. */
const CREDENTIAL_HEADERS = ['authorization', 'cookie', '"set-cookie"', '"proxy-authorization"', '"x-api-key"']

/** pino `redact` paths: credential headers at the top level, in a header bag, one level down (`req.headers`). */
export const REDACT_PATHS: readonly string[] = [
  ...CREDENTIAL_HEADERS.flatMap((name) => {
    const key = name.startsWith('"') ? `[${name}]` : `.${name}`
    return [
      `headers${key}`,
      `*.headers${key}`,
      key.startsWith('.') ? name : key,
      `*${key}`
    ]
  })
]

/**
 * Fastify/pino logger options for a production service: JSON lines, credential headers
 * redacted, every configured secret value scrubbed from whole lines, no request bodies (only
 * Fastify's default request fields are serialized). Request lines carry Fastify's `reqId`.
 */
export function loggerOptions ({ level = 'info', secrets = [] }: LoggerOptionsInput = {}): FastifyLoggerConfig {
  const redactor = secrets instanceof SecretRedactor ? secrets : new SecretRedactor(secrets)
  return {
    level,
    redact: { paths: [...REDACT_PATHS], censor: REDACTED },
    hooks: {
      // The whole serialized line: catches a secret inside a message or an error, which
      // path-based redaction cannot.
      streamWrite: (line: string) => redactor.redact(line)
    }
  }
}
