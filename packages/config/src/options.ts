import { createOptionError, createOptionValidators } from '@muejam/problem'

export const InvalidOptionError = createOptionError('@muejam/config')

const option = createOptionValidators(InvalidOptionError)

interface LoadOptions {
  schema?: unknown
  env?: unknown
  derive?: unknown
  rules?: unknown
}

/** A misused loadConfig or plugin is a programming error: thrown at once, not a ConfigError. */
export function checkLoadOptions (options: LoadOptions): void {
  const schema = option.object('schema', options.schema, { required: true })
  for (const [name, variable] of Object.entries(schema)) {
    if (typeof (variable as { parse?: unknown } | null)?.parse !== 'function' || typeof (variable as { checkProduction?: unknown }).checkProduction !== 'function') {
      throw new InvalidOptionError('schema', `${name} must be a validator such as string() or integer()`)
    }
  }
  option.object('env', options.env)
  option.func('derive', options.derive)
  option.func('rules', options.rules)
}
