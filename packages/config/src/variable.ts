/**
 * A validation failure whose message never contains the value, so it can be printed even
 * when the value is a secret. `fix` tells the operator what to do.
 */
export class InvalidValue extends Error {
  readonly fix: string | undefined
  constructor (problem: string, fix?: string) {
    super(problem)
    this.name = 'InvalidValue'
    this.fix = fix
  }
}

/** What a rule finds wrong: a sentence without the value, and optionally how to fix it. */
export type RuleResult = string | { problem: string, fix?: string } | undefined

/** A check that holds in production only, run on the variable's valid value. */
export type ProductionRule<T> = (value: Exclude<T, undefined>) => RuleResult

/** A default, or a function called once per loaded configuration (e.g. a random development key). */
export type DefaultValue<T> = T | (() => T)

export interface VariableOptions<T> {
  /** What the variable is for; printed next to each problem. */
  description?: string
  /** Used when the variable is unset, in every environment. `undefined` makes it optional. */
  default?: DefaultValue<T | undefined>
  /** Used when unset outside production (overrides `default` there). A variable with only a `devDefault` is required in production. */
  devDefault?: DefaultValue<T | undefined>
  /** How to fix a wrong value, e.g. `e.g. 3000`. */
  fix?: string
  /** Never printed, logged or serialised: `[redacted]` in `JSON.stringify` and `util.inspect`. */
  secret?: boolean
  /** Checks that hold in production only. */
  production?: ProductionRule<T> | ReadonlyArray<ProductionRule<T>>
}

/** One variable of a schema: how to parse it, its defaults and its rules. */
export interface Variable<T> {
  readonly description: string | undefined
  readonly fix: string | undefined
  readonly secret: boolean
  /** Set when the variable has a default in every environment. */
  readonly default?: DefaultValue<T>
  /** Set when the variable has a development-only default. */
  readonly devDefault?: DefaultValue<T>
  /** Parses the raw text; throws `InvalidValue` (whose message never holds the value). */
  parse (input: string): T
  /** The first production rule the value breaks, or undefined. */
  checkProduction (value: T): { problem: string, fix?: string } | undefined
}

/** Anything that parses one item of text, such as another variable (for `list({ of })`). */
export interface Parser<T> {
  parse (input: string): T
}

/** The default's type: a function default contributes what it returns. */
type Defaulted<D> = D extends (...args: never[]) => infer R ? R : D

/** The value type of a variable: the parsed type, plus whatever its defaults add (such as `undefined`). */
export type ValueOf<T, O> =
  | T
  | (O extends { default: infer D } ? Exclude<Defaulted<D>, T> : never)
  | (O extends { devDefault: infer D } ? Exclude<Defaulted<D>, T> : never)

function toResult (result: RuleResult): { problem: string, fix?: string } | undefined {
  return typeof result === 'string' ? { problem: result } : result
}

/**
 * Builds a variable from a parser and its options. Every validator the package exports is
 * made with it; use it for your own (`makeValidator((input) => ...)`).
 */
export function createVariable<T, O extends VariableOptions<T>> (
  parse: (input: string) => T,
  options: O | undefined,
  builtIn: ReadonlyArray<ProductionRule<T>> = []
): Variable<ValueOf<T, O>> {
  const own = options?.production
  const rules = [...builtIn, ...(typeof own === 'function' ? [own] : own ?? [])] as Array<ProductionRule<T>>
  const variable: Record<string, unknown> = {
    description: options?.description,
    fix: options?.fix,
    secret: options?.secret ?? false,
    parse,
    checkProduction (value: T) {
      if (value === undefined) return undefined
      for (const rule of rules) {
        const found = toResult(rule(value as Exclude<T, undefined>))
        if (found !== undefined) return found
      }
      return undefined
    }
  }
  if (options !== undefined && 'default' in options) variable.default = options.default
  if (options !== undefined && 'devDefault' in options) variable.devDefault = options.devDefault
  return Object.freeze(variable) as unknown as Variable<ValueOf<T, O>>
}

/** A validator of your own: `const hex = makeValidator((input) => ...)`, then `hex({ description })`. */
export function makeValidator<T> (parse: (input: string) => T) {
  return <const O extends VariableOptions<T>>(options?: O): Variable<ValueOf<T, O>> => createVariable(parse, options)
}
