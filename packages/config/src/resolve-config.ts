import { ConfigError, MissingPeerError, type Problem, type RuleProblem } from './errors.js'
import { readFileSecrets } from './file-secrets.js'
import { fetchSecretValues, loadSdk, SDK_PACKAGE } from './secrets-manager.js'
import type { ConfigSource, Env, Schema } from './types.js'
import { InvalidValue, type DefaultValue, type Variable } from './variable.js'

export type Values = Readonly<Record<string, unknown>>

export interface ResolveOptions {
  schema: Schema
  derive?: ((config: never) => object) | undefined
  rules?: ((config: never, context: RuleContext) => ReadonlyArray<RuleProblem | undefined>) | undefined
  /** The Secrets Manager SDK's module name; replaceable so tests can make it missing. */
  secretsManagerModule?: string | undefined
}

export interface RuleContext {
  /** NODE_ENV is `production`. */
  production: boolean
}

export interface ResolvedConfig {
  values: Values
  sources: Record<string, ConfigSource>
}

/**
 * Evaluates function defaults once per configuration store, so a refresh keeps what they
 * drew (a random development key stays the same for the life of the process).
 */
export class DefaultValues {
  #drawn = new Map<string, unknown>()

  get (key: string, value: DefaultValue<unknown>): unknown {
    if (typeof value !== 'function') return value
    if (!this.#drawn.has(key)) this.#drawn.set(key, (value as () => unknown)())
    return this.#drawn.get(key)
  }
}

/** Empty variables count as unset, as `FOO=` in an env file means "no value". */
function withoutEmpty (env: Env): Record<string, string> {
  const raw: Record<string, string> = {}
  for (const [name, value] of Object.entries(env)) {
    if (value !== undefined && value !== '') raw[name] = value
  }
  return raw
}

function deepFreeze<T> (value: T): T {
  if (value !== null && typeof value === 'object') {
    for (const inner of Object.values(value)) deepFreeze(inner)
    Object.freeze(value)
  }
  return value
}

async function mergeSecretsManager (
  raw: Record<string, string>, env: Env, names: readonly string[], sources: Record<string, ConfigSource>, moduleName: string | undefined
): Promise<Omit<Problem, 'purpose'> | undefined> {
  const secretId = raw.AWS_SECRETS_MANAGER_SECRET_ID
  if (secretId === undefined) return undefined
  try {
    const values = await fetchSecretValues(env, secretId, await loadSdk(moduleName))
    for (const name of names) {
      const value = values[name]
      if (value === undefined) continue
      raw[name] = value
      sources[name] = 'aws-secrets-manager'
    }
    return undefined
  } catch (error) {
    if (error instanceof MissingPeerError) {
      return { variable: 'AWS_SECRETS_MANAGER_SECRET_ID', problem: `needs ${SDK_PACKAGE}, which is not installed (npm install ${SDK_PACKAGE})`, fix: `npm install ${SDK_PACKAGE}, or unset AWS_SECRETS_MANAGER_SECRET_ID` }
    }
    return {
      variable: 'AWS_SECRETS_MANAGER_SECRET_ID',
      problem: `could not be fetched: ${(error as Error).name}: ${(error as Error).message}`,
      fix: 'check the secret id, the region (AWS_REGION), credentials and network access to Secrets Manager'
    }
  }
}

type Outcome = { value: unknown } | { problem: Omit<Problem, 'purpose' | 'variable'> }

function valueOf (name: string, variable: Variable<unknown>, raw: Record<string, string>, production: boolean, defaults: DefaultValues): Outcome {
  const input = raw[name]
  if (input !== undefined) {
    try {
      return { value: variable.parse(input) }
    } catch (error) {
      // Only InvalidValue messages are known to leave the value out.
      if (!(error instanceof InvalidValue)) return { problem: { problem: 'is not valid', fix: variable.fix ?? `correct ${name}` } }
      return { problem: { problem: error.message, fix: error.fix ?? variable.fix ?? `correct ${name}` } }
    }
  }
  if (!production && 'devDefault' in variable) return { value: defaults.get(`dev:${name}`, variable.devDefault) }
  if ('default' in variable) return { value: defaults.get(name, variable.default) }
  const requiredIn = production && 'devDefault' in variable ? 'production requires it' : 'it is required'
  return { problem: { problem: `is not set; ${requiredIn}`, fix: variable.fix ?? `set ${name}` } }
}

/**
 * Defaults → environment → NAME_FILE → AWS Secrets Manager, parsed by the schema, then in
 * production each variable's production rules. Once every variable has a valid value,
 * `derive` completes the configuration and `rules` check it as a whole. Throws one
 * ConfigError listing every problem.
 */
export async function resolveConfig (env: Env, options: ResolveOptions, defaults: DefaultValues): Promise<ResolvedConfig> {
  const { schema } = options
  const names = Object.keys(schema)
  const raw = withoutEmpty(env)
  const sources: Record<string, ConfigSource> = {}
  for (const name of names) sources[name] = name in raw ? 'environment' : 'default'
  const purposeOf = (name: string) => schema[name]?.description ?? ''
  const problems: Problem[] = []
  const report = (problem: Omit<Problem, 'purpose'>) => problems.push({ ...problem, purpose: purposeOf(problem.variable) })

  const files = readFileSecrets(raw, names)
  problems.push(...files.problems)
  for (const name of files.filled) sources[name] = 'file'
  const fetchProblem = await mergeSecretsManager(raw, env, names, sources, options.secretsManagerModule)
  if (fetchProblem !== undefined) report(fetchProblem)

  const production = raw.NODE_ENV === 'production'
  const values: Record<string, unknown> = {}
  let complete = problems.length === 0
  for (const [name, variable] of Object.entries(schema)) {
    const outcome = valueOf(name, variable, raw, production, defaults)
    if ('problem' in outcome) {
      complete = false
      report({ variable: name, ...outcome.problem })
      continue
    }
    values[name] = outcome.value
    const broken = production ? variable.checkProduction(outcome.value) : undefined
    if (broken !== undefined) report({ variable: name, problem: broken.problem, fix: broken.fix ?? variable.fix ?? `correct ${name}` })
  }

  // derive and rules see typed values only: they run once every variable has one.
  let final: Record<string, unknown> = values
  if (complete) {
    if (options.derive) final = { ...values, ...options.derive(values as never) }
    const found = options.rules?.(final as never, { production }) ?? []
    for (const problem of found) if (problem !== undefined) report(problem)
  }
  if (problems.length > 0) throw new ConfigError(problems)
  return { values: deepFreeze(final), sources }
}
