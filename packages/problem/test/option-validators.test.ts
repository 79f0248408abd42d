import t, { type Test } from 'tap'
import { createOptionError, createOptionValidators, MAX_TIMER_MS } from '../src/index.js'

const InvalidOptionError = createOptionError('@muejam/widget')
const option = createOptionValidators(InvalidOptionError)
const CODE = 'MUEJAM_WIDGET_INVALID_OPTION'

function refuses (t: Test, check: () => unknown, message: string) {
  t.throws(check, { code: CODE, message: `Invalid @muejam/widget option ${message}` }, message)
  try { check() } catch (error) { t.ok(error instanceof InvalidOptionError, `${message}: the package's class`) }
}

t.test('integer: a whole number in range, the default when unset', async (t) => {
  t.equal(option.integer('max', 0, { min: 0, max: 10 }), 0)
  t.equal(option.integer('max', 10, { min: 0, max: 10 }), 10)
  t.equal(option.integer('max', undefined, { min: 0, max: 10, default: 5 }), 5)
  t.equal(option.integer('max', undefined), undefined)
  t.equal(option.integer('max', Number.MAX_SAFE_INTEGER), Number.MAX_SAFE_INTEGER)
  for (const value of [-1, 11, 1.5, Number.NaN, Number.POSITIVE_INFINITY, '5', null, true, 10n]) {
    refuses(t, () => option.integer('max', value, { min: 0, max: 10, default: 5 }), '"max": must be an integer from 0 to 10')
  }
  refuses(t, () => option.integer('size', -1), '"size": must be an integer of at least 0')
  refuses(t, () => option.integer('size', 0, { min: 1 }), '"size": must be an integer of at least 1')
  refuses(t, () => option.integer('size', undefined, { required: true }), '"size": is required')
})

t.test('milliseconds: a whole number up to setTimeout\'s ceiling', async (t) => {
  t.equal(MAX_TIMER_MS, 2_147_483_647)
  t.equal(option.milliseconds('timeoutMs', MAX_TIMER_MS), MAX_TIMER_MS)
  t.equal(option.milliseconds('timeoutMs', undefined, { default: 30_000 }), 30_000)
  t.equal(option.milliseconds('timeoutMs', undefined, { min: 1 }), undefined)
  refuses(t, () => option.milliseconds('timeoutMs', MAX_TIMER_MS + 1), `"timeoutMs": must be an integer number of milliseconds from 0 to ${MAX_TIMER_MS}`)
  refuses(t, () => option.milliseconds('timeoutMs', 0, { min: 1000, max: 60_000 }), '"timeoutMs": must be an integer number of milliseconds from 1000 to 60000')
  refuses(t, () => option.milliseconds('timeoutMs', 1.5), `"timeoutMs": must be an integer number of milliseconds from 0 to ${MAX_TIMER_MS}`)
  refuses(t, () => option.milliseconds('timeoutMs', undefined, { required: true }), '"timeoutMs": is required')
})

t.test('boolean: true or false only', async (t) => {
  t.equal(option.boolean('enabled', false, { default: true }), false)
  t.equal(option.boolean('enabled', undefined, { default: true }), true)
  t.equal(option.boolean('enabled', undefined), undefined)
  for (const value of ['true', 1, 0, null, 'false']) refuses(t, () => option.boolean('enabled', value), '"enabled": must be true or false')
  refuses(t, () => option.boolean('enabled', undefined, { required: true }), '"enabled": is required')
})

t.test('oneOf: one of the listed strings', async (t) => {
  const mode: 'open' | 'closed' = option.oneOf('onStoreError', 'closed', ['open', 'closed'], { default: 'open' })
  t.equal(mode, 'closed')
  t.equal(option.oneOf('onStoreError', undefined, ['open', 'closed'], { default: 'open' }), 'open')
  t.equal(option.oneOf('onStoreError', undefined, ['open', 'closed']), undefined)
  for (const value of ['OPEN', '', 1, null]) {
    refuses(t, () => option.oneOf('onStoreError', value, ['open', 'closed']), '"onStoreError": must be one of "open", "closed"')
  }
  refuses(t, () => option.oneOf('mode', undefined, ['a'], { required: true }), '"mode": is required')
  // @ts-expect-error the default must be one of the choices
  option.oneOf('mode', undefined, ['a', 'b'], { default: 'c' })
})

t.test('func: a function, typed as the option declares it', async (t) => {
  const declared: ((request: string) => boolean) | undefined = (request) => request === 'x'
  const isExempt = option.func('isExempt', declared)
  t.equal(isExempt?.('x'), true)
  const fallback = () => 1
  t.equal(option.func('load', undefined as (() => number) | undefined, { default: fallback }), fallback)
  t.equal(option.func('load', undefined), undefined)
  for (const value of ['fn', {}, null, 1]) refuses(t, () => option.func('isExempt', value), '"isExempt": must be a function')
  refuses(t, () => option.func('onFailure', undefined, { required: true }), '"onFailure": is required')
})

t.test('string: a string, optionally non-empty, empty as unset, or matching a pattern', async (t) => {
  t.equal(option.string('keyPrefix', 'rl:'), 'rl:')
  t.equal(option.string('keyPrefix', ''), '')
  t.equal(option.string('keyPrefix', undefined, { default: 'rl:' }), 'rl:')
  t.equal(option.string('realm', '', { emptyIsUnset: true }), undefined, 'an empty environment variable is unset')
  t.equal(option.string('realm', '', { emptyIsUnset: true, default: 'api' }), 'api')
  t.equal(option.string('issuer', 'https://issuer.example', { required: true, nonEmpty: true }), 'https://issuer.example')
  for (const value of [1, null, {}, ['a']]) refuses(t, () => option.string('keyPrefix', value), '"keyPrefix": must be a string')
  refuses(t, () => option.string('issuer', '', { nonEmpty: true }), '"issuer": must be a non-empty string')
  refuses(t, () => option.string('issuer', '', { required: true, emptyIsUnset: true }), '"issuer": is required')
  refuses(t, () => option.string('prefix', 'health', { pattern: /^\//, describe: 'a path starting with "/"' }), '"prefix": must be a path starting with "/"')
  refuses(t, () => option.string('prefix', 'health', { pattern: /^\// }), '"prefix": must be a string matching /^\\//')
  t.equal(option.string('prefix', '/health', { pattern: /^\// }), '/health')
})

t.test('object: a plain object, typed as the option declares it', async (t) => {
  const declared: { auth: boolean } | undefined = { auth: false }
  const config = option.object('routeConfig', declared, { default: { auth: true } })
  t.equal(config.auth, false)
  t.same(option.object('routeConfig', undefined as { auth: boolean } | undefined, { default: { auth: true } }), { auth: true })
  t.equal(option.object('routeConfig', undefined), undefined)
  for (const value of [null, [], 'x', 1, () => ({})]) refuses(t, () => option.object('routeConfig', value), '"routeConfig": must be an object')
  refuses(t, () => option.object('routeConfig', undefined, { required: true }), '"routeConfig": is required')
})

t.test('results are typed by presence: a default or required gives the type, otherwise it may be undefined', async (t) => {
  const withDefault: number = option.integer('a', undefined, { default: 1 })
  const required: number = option.integer('a', 2, { required: true })
  // @ts-expect-error without a default or required the result may be undefined
  const optional: number = option.integer('a', undefined)
  t.same([withDefault, required, optional], [1, 2, undefined])
})

t.test('any (option, reason) error class can be given', async (t) => {
  class LocalError extends Error {
    constructor (option: string, reason: string) { super(`${option} ${reason}`) }
  }
  const local = createOptionValidators(LocalError)
  t.throws(() => local.boolean('x', 1), new LocalError('x', 'must be true or false'))
})
