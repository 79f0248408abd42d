import t from 'tap'
import { createOptionError } from '../src/index.js'

t.test('the class is named after the package and has one signature: (option, reason)', async (t) => {
  const InvalidOptionError = createOptionError('@muejam/rate-limit')
  const error = new InvalidOptionError('max', 'must be an integer from 0 to 10')
  t.equal(error.code, 'MUEJAM_RATE_LIMIT_INVALID_OPTION')
  t.equal(InvalidOptionError.code, 'MUEJAM_RATE_LIMIT_INVALID_OPTION')
  t.equal(error.message, 'Invalid @muejam/rate-limit option "max": must be an integer from 0 to 10')
  t.equal(error.name, 'InvalidOptionError')
  t.ok(error instanceof TypeError)
  t.ok(error instanceof InvalidOptionError)
  t.match(error.stack, /option-error\.test\.ts/)
  // @ts-expect-error one signature: the option and the reason
  t.ok(new InvalidOptionError('max must be an integer'))
})

t.test('codes follow the package name', async (t) => {
  t.equal(new (createOptionError('@muejam/db-pool'))('a', 'b').code, 'MUEJAM_DB_POOL_INVALID_OPTION')
  t.equal(new (createOptionError('@muejam/auth'))('a', 'b').code, 'MUEJAM_AUTH_INVALID_OPTION')
  t.equal(new (createOptionError('fastify-widget'))('a', 'b').code, 'FASTIFY_WIDGET_INVALID_OPTION')
})

t.test('two packages get two classes that do not match each other', async (t) => {
  const Auth = createOptionError('@muejam/auth')
  const Health = createOptionError('@muejam/health')
  t.notOk(new Auth('a', 'b') instanceof Health)
})

t.test('percent signs in the name or the reason are printed as they are', async (t) => {
  const Odd = createOptionError('@acme/100%')
  t.equal(new Odd('ratio', 'must be below 100%s').message, 'Invalid @acme/100% option "ratio": must be below 100%s')
})

t.test('a name without letters or digits is refused', async (t) => {
  t.throws(() => createOptionError(''), TypeError)
  t.throws(() => createOptionError('@/'), TypeError)
  t.throws(() => createOptionError(undefined as never), TypeError)
})
