import type { FastifyInstance } from 'fastify'
import t from 'tap'
import { integer, loadConfig, type LoadedConfig, type Variable } from '../src/index.js'
import { serviceSchema } from './helpers/service-schema.js'

// Compiled by `pnpm run typecheck:tests`: a wrong inferred type fails the type check.
type Equal<A, B> = (<T>() => T extends A ? 1 : 2) extends (<T>() => T extends B ? 1 : 2) ? true : false
function expectType<A, B> (_proof: Equal<A, B>): void {}

declare module '../src/index.js' {
  interface ConfigTypes extends LoadedConfig<typeof serviceSchema> {}
}

t.test('the configuration is typed from the schema', async (t) => {
  const store = await loadConfig({ env: {}, schema: serviceSchema })
  t.teardown(() => store.close())
  const config = store.config
  expectType<typeof config.MODE, 'read-write' | 'read-only'>(true)
  expectType<typeof config.PORT, number>(true)
  expectType<typeof config.DATABASE_URL, string | undefined>(true)
  expectType<typeof config.API_KEY, string>(true)
  expectType<typeof config.FEATURES, ReadonlyArray<'search' | 'export' | 'beta'>>(true)
  expectType<typeof config.VERBOSE, boolean>(true)
  expectType<typeof config.GREETING, string | undefined>(true)
  expectType<typeof config.AWS_SECRETS_MANAGER_SECRET_ID, string | undefined>(true)
  expectType<typeof config.AWS_SECRETS_MANAGER_REFRESH_MS, number>(true)
  // @ts-expect-error the schema has no such variable
  t.equal(config.UNKNOWN, undefined)
  // @ts-expect-error the configuration is read-only
  t.throws(() => { config.PORT = 1 })
})

t.test('derive replaces and extends the schema\'s types; rules see the derived configuration', async (t) => {
  const store = await loadConfig({
    env: {},
    schema: serviceSchema,
    derive: (config) => ({ GREETING: config.GREETING ?? 'hello', ORIGIN: `http://127.0.0.1:${config.PORT}` }),
    rules: (config) => {
      expectType<typeof config.GREETING, string>(true)
      expectType<typeof config.ORIGIN, string>(true)
      return []
    }
  })
  t.teardown(() => store.close())
  expectType<typeof store.config.GREETING, string>(true)
  t.equal(store.config.ORIGIN, 'http://127.0.0.1:3000')
})

t.test('a variable\'s defaults shape its type; options are checked against the parsed type', async (t) => {
  expectType<typeof serviceSchema.WORKERS, Variable<number>>(true)
  const optional = integer({ default: undefined })
  expectType<typeof optional, Variable<number | undefined>>(true)
  const devOnly = integer({ devDefault: undefined })
  expectType<typeof devOnly, Variable<number | undefined>>(true)
  t.same([optional.default, devOnly.devDefault], [undefined, undefined])
  // @ts-expect-error a default must have the parsed type
  integer({ default: 'three' })
  // @ts-expect-error production rules receive the parsed type
  integer({ production: (value: string) => value })
  t.pass('compiled')
})

t.test('app.config is typed through ConfigTypes', async (t) => {
  const port = (app: FastifyInstance): number => app.config.PORT
  const features = (app: FastifyInstance) => app.config.FEATURES
  expectType<ReturnType<typeof features>, ReadonlyArray<'search' | 'export' | 'beta'>>(true)
  t.type(port, 'function')
  t.type(features, 'function')
})
