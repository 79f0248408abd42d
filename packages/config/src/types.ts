import type { Variable } from './variable.js'

/** The variables a service reads, by name: `{ PORT: port({ default: 3000 }), ... }`. */
export type Schema = Readonly<Record<string, Variable<unknown>>>

/** The validated values of a schema, typed from its validators. */
export type Config<S extends Schema> = { readonly [K in keyof S]: S[K] extends Variable<infer T> ? T : never }

/** A configuration after `derive`: the derived values replace or extend the schema's. */
export type DerivedConfig<S extends Schema, D extends object> = Readonly<Omit<Config<S>, keyof D> & D>

/** Where a variable's value came from. */
export type ConfigSource = 'default' | 'environment' | 'file' | 'aws-secrets-manager'

export type Env = Readonly<Record<string, string | undefined>>
