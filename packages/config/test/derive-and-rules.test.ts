import t from 'tap'
import { ConfigError, loadConfig, makeValidator, type Schema } from '../src/index.js'
import { productionEnv, serviceSchema } from './helpers/service-schema.js'

async function refusal (promise: Promise<unknown>) {
  const error = await promise.then(() => null, (e: unknown) => e)
  if (!(error instanceof ConfigError)) throw new Error('expected a ConfigError')
  return error
}

const derive = (config: { PORT: number, GREETING: string | undefined }) => ({
  ORIGIN: `http://127.0.0.1:${config.PORT}`,
  GREETING: config.GREETING ?? `listening on ${config.PORT}`
})

t.test('derive computes values from others: new ones and defaults that depend on another variable', async (t) => {
  const store = await loadConfig({ env: { PORT: '4000' }, schema: serviceSchema, derive })
  t.equal(store.config.ORIGIN, 'http://127.0.0.1:4000')
  t.equal(store.config.GREETING, 'listening on 4000')
  t.equal((await loadConfig({ env: { GREETING: 'hi' }, schema: serviceSchema, derive })).config.GREETING, 'hi', 'a set value is kept')
  t.ok(Object.isFrozen(store.config.FEATURES))
})

t.test('rules check variables together and report with the schema\'s purpose, in every environment', async (t) => {
  const rules = (config: { MODE: string, FEATURES: readonly string[] }) => [
    config.MODE === 'read-only' && config.FEATURES.includes('export')
      ? { variable: 'FEATURES', problem: 'has export while MODE is read-only', fix: 'remove export, or set MODE=read-write' }
      : undefined
  ]
  const error = await refusal(loadConfig({ env: { MODE: 'read-only', FEATURES: 'export' }, schema: serviceSchema, rules }))
  t.equal(error.message, 'Invalid configuration (1 problem):\n  - FEATURES (features switched on) has export while MODE is read-only. Fix: remove export, or set MODE=read-write.')
  t.equal(error.exitCode, 78)
  t.same((await loadConfig({ env: { MODE: 'read-only', FEATURES: 'search' }, schema: serviceSchema, rules })).config.FEATURES, ['search'])
})

t.test('rules see derived values and whether this is production', async (t) => {
  const seen: Array<{ production: boolean, origin: string }> = []
  const rules = (config: { ORIGIN: string }, { production }: { production: boolean }) => {
    seen.push({ production, origin: config.ORIGIN })
    return production ? [{ variable: 'ORIGIN', problem: 'is not https://', fix: 'serve over TLS' }] : []
  }
  await loadConfig({ env: {}, schema: serviceSchema, derive, rules })
  const error = await refusal(loadConfig({ env: productionEnv(), schema: serviceSchema, derive, rules }))
  t.same(seen, [{ production: false, origin: 'http://127.0.0.1:3000' }, { production: true, origin: 'http://127.0.0.1:8080' }])
  t.equal(error.message, 'Invalid configuration (1 problem):\n  - ORIGIN is not https://. Fix: serve over TLS.', 'a derived name has no purpose')
})

t.test('derive and rules wait until every variable is valid, so they only see typed values', async (t) => {
  let calls = 0
  const counting = (config: { PORT: number }) => { calls++; return { ORIGIN: `:${config.PORT}` } }
  const error = await refusal(loadConfig({ env: { PORT: 'x' }, schema: serviceSchema, derive: counting, rules: () => { calls++; return [] } }))
  t.same(error.problems.map((p) => p.variable), ['PORT'])
  t.equal(calls, 0)
})

t.test('a production rule problem does not hold rules back: both are reported at once', async (t) => {
  const rules = () => [{ variable: 'MODE', problem: 'is checked', fix: 'nothing' }]
  const error = await refusal(loadConfig({ env: productionEnv({ VERBOSE: 'true' }), schema: serviceSchema, rules }))
  t.same(error.problems.map((p) => p.variable), ['VERBOSE', 'MODE'])
})

t.test('a parser that throws something other than InvalidValue is reported without its message', async (t) => {
  const leaky = makeValidator((input): string => { throw new Error(`bad value ${input}`) })
  const schema: Schema = { TOKEN: leaky({ description: 'a token', fix: 'ask the issuer' }), OTHER: leaky() }
  const error = await refusal(loadConfig({ env: { TOKEN: 'hunter2', OTHER: 'x' }, schema }))
  t.equal(error.message, 'Invalid configuration (2 problems):\n  - TOKEN (a token) is not valid. Fix: ask the issuer.\n  - OTHER is not valid. Fix: correct OTHER.')
})
