/** The class validators throw: a package's `InvalidOptionError`, from `createOptionError`. */
export type OptionErrorClass = new (option: string, reason: string) => Error

/** Whether a missing (`undefined`) option takes a default, is required, or stays `undefined`. */
export interface WithDefault<T> { default: T }
export interface Required { required: true }
export interface Optional { default?: undefined, required?: false }

export interface IntegerRange {
  /** Smallest accepted value. Default: 0. */
  min?: number
  /** Largest accepted value. Default: `Number.MAX_SAFE_INTEGER` (`milliseconds`: 2147483647, setTimeout's ceiling). */
  max?: number
}

export interface StringRules {
  /** Refuse `''`. Default: false. */
  nonEmpty?: boolean
  /** Treat `''` as unset (an empty environment variable): the default, or `undefined`. Default: false. */
  emptyIsUnset?: boolean
  /** The value must match it; pair it with `describe`. */
  pattern?: RegExp
  /** What a valid value is, for the message: `must be ${describe}`. */
  describe?: string
}

export interface OptionValidators {
  /** A whole number within `min`…`max`. */
  integer (name: string, value: unknown, rules: IntegerRange & WithDefault<number>): number
  integer (name: string, value: unknown, rules: IntegerRange & Required): number
  integer (name: string, value: unknown, rules?: IntegerRange & Optional): number | undefined
  /** A whole number of milliseconds within `min` (default 0) … `max` (default 2147483647). */
  milliseconds (name: string, value: unknown, rules: IntegerRange & WithDefault<number>): number
  milliseconds (name: string, value: unknown, rules: IntegerRange & Required): number
  milliseconds (name: string, value: unknown, rules?: IntegerRange & Optional): number | undefined
  /** `true` or `false`. */
  boolean (name: string, value: unknown, rules: WithDefault<boolean>): boolean
  boolean (name: string, value: unknown, rules: Required): boolean
  boolean (name: string, value: unknown, rules?: Optional): boolean | undefined
  /** One of the listed strings: `oneOf('onStoreError', v, ['open', 'closed'], { default: 'open' })`. */
  oneOf<const C extends readonly string[]> (name: string, value: unknown, choices: C, rules: WithDefault<C[number]>): C[number]
  oneOf<const C extends readonly string[]> (name: string, value: unknown, choices: C, rules: Required): C[number]
  oneOf<const C extends readonly string[]> (name: string, value: unknown, choices: C, rules?: Optional): C[number] | undefined
  /** A function, typed as the option declares it. */
  func<F> (name: string, value: F | undefined, rules: WithDefault<NonNullable<F>>): NonNullable<F>
  func<F> (name: string, value: F | undefined, rules: Required): NonNullable<F>
  func<F> (name: string, value: F | undefined, rules?: Optional): NonNullable<F> | undefined
  /** A string, optionally non-empty or matching a pattern. */
  string (name: string, value: unknown, rules: StringRules & WithDefault<string>): string
  string (name: string, value: unknown, rules: StringRules & Required): string
  string (name: string, value: unknown, rules?: StringRules & Optional): string | undefined
  /** A plain object (not null, not an array), typed as the option declares it. */
  object<O> (name: string, value: O | undefined, rules: WithDefault<NonNullable<O>>): NonNullable<O>
  object<O> (name: string, value: O | undefined, rules: Required): NonNullable<O>
  object<O> (name: string, value: O | undefined, rules?: Optional): NonNullable<O> | undefined
}

interface Presence {
  default?: unknown
  required?: boolean
}

/** setTimeout's ceiling: a longer delay fires at once. */
export const MAX_TIMER_MS = 2_147_483_647

/**
 * The option validators of one package, throwing its `InvalidOptionError`. Each returns the
 * value when valid, the default (or `undefined`) when the value is `undefined`, and throws
 * `new InvalidOptionError(name, reason)` otherwise; `required: true` refuses `undefined`.
 */
export function createOptionValidators (InvalidOptionError: OptionErrorClass): OptionValidators {
  /** `undefined`: the default, or a throw when the option is required. */
  function unset (name: string, rules: Presence | undefined): unknown {
    if (rules?.required === true) throw new InvalidOptionError(name, 'is required')
    return rules?.default
  }

  function whole (name: string, value: unknown, rules: (IntegerRange & Presence) | undefined, unit: string, ceiling: number): unknown {
    if (value === undefined) return unset(name, rules)
    const min = rules?.min ?? 0
    const max = rules?.max ?? ceiling
    if (typeof value !== 'number' || !Number.isInteger(value) || value < min || value > max) {
      const range = max === Number.MAX_SAFE_INTEGER ? `of at least ${min}` : `from ${min} to ${max}`
      throw new InvalidOptionError(name, `must be ${unit} ${range}`)
    }
    return value
  }

  const validators = {
    integer (name: string, value: unknown, rules?: IntegerRange & Presence) {
      return whole(name, value, rules, 'an integer', Number.MAX_SAFE_INTEGER)
    },
    milliseconds (name: string, value: unknown, rules?: IntegerRange & Presence) {
      return whole(name, value, rules, 'an integer number of milliseconds', MAX_TIMER_MS)
    },
    boolean (name: string, value: unknown, rules?: Presence) {
      if (value === undefined) return unset(name, rules)
      if (typeof value !== 'boolean') throw new InvalidOptionError(name, 'must be true or false')
      return value
    },
    oneOf (name: string, value: unknown, choices: readonly string[], rules?: Presence) {
      if (value === undefined) return unset(name, rules)
      if (typeof value !== 'string' || !choices.includes(value)) {
        throw new InvalidOptionError(name, `must be one of ${choices.map((choice) => JSON.stringify(choice)).join(', ')}`)
      }
      return value
    },
    func (name: string, value: unknown, rules?: Presence) {
      if (value === undefined) return unset(name, rules)
      if (typeof value !== 'function') throw new InvalidOptionError(name, 'must be a function')
      return value
    },
    string (name: string, value: unknown, rules?: StringRules & Presence) {
      if (value === undefined || (value === '' && rules?.emptyIsUnset === true)) return unset(name, rules)
      if (typeof value !== 'string') throw new InvalidOptionError(name, 'must be a string')
      if (value === '' && rules?.nonEmpty === true) throw new InvalidOptionError(name, 'must be a non-empty string')
      if (rules?.pattern !== undefined && !rules.pattern.test(value)) {
        throw new InvalidOptionError(name, `must be ${rules.describe ?? `a string matching ${String(rules.pattern)}`}`)
      }
      return value
    },
    object (name: string, value: unknown, rules?: Presence) {
      if (value === undefined) return unset(name, rules)
      if (typeof value !== 'object' || value === null || Array.isArray(value)) throw new InvalidOptionError(name, 'must be an object')
      return value
    }
  }
  return validators as OptionValidators
}
