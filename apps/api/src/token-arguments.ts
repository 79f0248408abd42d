import { parseArgs } from 'node:util'

/** A mistake in how the script was called: printed on one line, exit code 2. */
export class UsageError extends Error {
  override name = 'UsageError'
}

export const USAGE = 'usage: pnpm run token -- --sub <user id> [--sid <session id>] [--ttl <duration>] [--azp <origin>]'

export const HELP = `Prints a session token signed by the development issuer, which a locally started API
(no AUTH_ISSUER, NODE_ENV other than production) trusts.

${USAGE}

  --sub <user id>      the user the token is for, e.g. user_123 (required)
  --sid <session id>   its session id (default: a random one)
  --ttl <duration>     how long it is valid: 90s, 15m, 1h, or whole seconds such as 3600 (default: 1h)
  --azp <origin>       the authorized party, for an API started with AUTH_AUTHORIZED_PARTIES
  -h, --help           this help

The key pair lives in DEV_KEYS_DIR, by default .data/dev-keys at the repository root,
whatever the working directory; the API reads the same folder.
`

const UNIT_SECONDS: Record<string, number> = { s: 1, m: 60, h: 3600 }

/** Seconds from `90s`, `15m`, `1h` or plain whole seconds (`3600`); throws UsageError otherwise. */
export function parseDuration (text: string): number {
  const match = /^(\d+)([smh]?)$/.exec(text.trim())
  const seconds = match === null ? NaN : Number(match[1]) * (UNIT_SECONDS[match[2] || 's'] ?? NaN)
  if (!Number.isSafeInteger(seconds) || seconds <= 0) {
    throw new UsageError(`--ttl must be a positive duration such as 90s, 15m, 1h or 3600 (seconds), not "${text}"`)
  }
  return seconds
}

export type TokenRequest =
  | { help: true }
  | { help: false, sub: string, sid: string | undefined, azp: string | undefined, ttlSeconds: number }

/** Node's parseArgs messages, reworded to name the option as it is typed. */
function usageErrorFrom (error: unknown): UsageError {
  const { code, message } = error as { code?: string, message: string }
  // Node quotes the option as '--sub <value>' or '-h, --help'.
  const option = /'(?:-\w, )?(--?[^'\s]+)/.exec(message)?.[1]
  if (code === 'ERR_PARSE_ARGS_UNKNOWN_OPTION') return new UsageError(`unknown option ${option ?? message}`)
  if (code === 'ERR_PARSE_ARGS_INVALID_OPTION_VALUE') {
    return new UsageError(/does not take an argument/.test(message) ? `${option ?? 'a flag'} takes no value` : `${option ?? 'an option'} needs a value`)
  }
  if (code === 'ERR_PARSE_ARGS_UNEXPECTED_POSITIONAL') return new UsageError(`unexpected argument ${/'([^']*)'/.exec(message)?.[1] ?? ''}; options take their value as --name value`)
  return new UsageError(message.split('\n')[0] ?? 'invalid arguments')
}

/** The command line after the script's name; `--` (as `pnpm run token --` passes it) is skipped. */
export function parseTokenArguments (args: readonly string[]): TokenRequest {
  let values
  try {
    values = parseArgs({
      args: args.filter((arg) => arg !== '--'),
      options: {
        help: { type: 'boolean', short: 'h' },
        sub: { type: 'string' },
        sid: { type: 'string' },
        azp: { type: 'string' },
        ttl: { type: 'string' }
      }
    }).values
  } catch (error) {
    throw usageErrorFrom(error)
  }
  if (values.help === true) return { help: true }
  if (values.sub === undefined || values.sub.trim() === '') throw new UsageError('--sub <user id> is required')
  for (const name of ['sid', 'azp'] as const) {
    if (values[name]?.trim() === '') throw new UsageError(`--${name} must not be empty`)
  }
  return { help: false, sub: values.sub, sid: values.sid, azp: values.azp, ttlSeconds: parseDuration(values.ttl ?? '1h') }
}
