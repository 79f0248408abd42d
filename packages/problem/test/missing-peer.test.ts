import t from 'tap'
import { createMissingPeerError, isModuleNotFound } from '../src/index.js'

t.test('the class is named after the package and has one signature: (feature, moduleName)', async (t) => {
  const MissingPeerError = createMissingPeerError('@muejam/db-pool')
  const error = new MissingPeerError('The embedded database', '@electric-sql/pglite')
  t.equal(error.code, 'MUEJAM_DB_POOL_MISSING_PEER')
  t.equal(MissingPeerError.code, 'MUEJAM_DB_POOL_MISSING_PEER')
  t.equal(error.message, 'The embedded database needs the optional peer dependency @electric-sql/pglite, which is not installed: run `npm install @electric-sql/pglite`')
  t.equal(error.name, 'MissingPeerError')
  t.equal(error.statusCode, 500)
  t.ok(error instanceof Error)
  t.ok(error instanceof MissingPeerError)
  t.match(error.stack, /missing-peer\.test\.ts/)
  // @ts-expect-error one signature: the feature and the module
  t.ok(new MissingPeerError('The embedded database', '@electric-sql/pglite', '@electric-sql/pglite'))
})

t.test('codes follow the package name, and two packages get two classes', async (t) => {
  t.equal(new (createMissingPeerError('@muejam/observability'))('a', 'b').code, 'MUEJAM_OBSERVABILITY_MISSING_PEER')
  t.equal(new (createMissingPeerError('fastify-widget'))('a', 'b').code, 'FASTIFY_WIDGET_MISSING_PEER')
  const DbPool = createMissingPeerError('@muejam/db-pool')
  const Config = createMissingPeerError('@muejam/config')
  t.notOk(new DbPool('a', 'b') instanceof Config)
})

t.test('percent signs in the feature or the module are printed as they are', async (t) => {
  const MissingPeerError = createMissingPeerError('@muejam/config')
  t.equal(new MissingPeerError('100% of %s', 'a%d').message, '100% of %s needs the optional peer dependency a%d, which is not installed: run `npm install a%d`')
})

t.test('a package name is required', async (t) => {
  for (const name of ['', '@', '---', 42, undefined]) {
    t.throws(() => createMissingPeerError(name as string), { name: 'TypeError', message: /createMissingPeerError needs the package name/ }, String(name))
  }
})

async function failureOf (specifier: string): Promise<unknown> {
  return await import(specifier).then(() => undefined, (error: unknown) => error)
}

t.test('isModuleNotFound: the package itself not installed, from import() or import.meta.resolve', async (t) => {
  t.ok(isModuleNotFound(await failureOf('@muejam/not-installed'), '@muejam/not-installed'))
  t.ok(isModuleNotFound(await failureOf('not-installed-either'), 'not-installed-either'))
  let resolveError: unknown
  try {
    import.meta.resolve('not-installed-either')
  } catch (error) {
    resolveError = error
  }
  t.ok(isModuleNotFound(resolveError, 'not-installed-either'))
  t.ok(isModuleNotFound(new Error("Cannot find package 'x' imported from /app/index.js"), 'x'), 'a loader hook that drops the code')
})

t.test('isModuleNotFound: any other failure is not a missing peer', async (t) => {
  const missing = await failureOf('@muejam/not-installed')
  t.notOk(isModuleNotFound(missing, '@muejam/not'), 'another name')
  t.notOk(isModuleNotFound(missing, 'not-installed'), 'a part of the name')
  t.notOk(isModuleNotFound(await failureOf('data:text/javascript,throw new Error("broken inside")'), 'data:text/javascript,throw new Error("broken inside")'), 'an installed module that fails to load')
  t.notOk(isModuleNotFound(await failureOf('fastify/no-such-subpath'), 'fastify/no-such-subpath'), 'an installed package without that subpath')
  t.notOk(isModuleNotFound(Object.assign(new Error("Cannot find package 'y' imported from /node_modules/x/index.js"), { code: 'ERR_MODULE_NOT_FOUND' }), 'x'),
    'a dependency missing inside the installed package')
  t.notOk(isModuleNotFound(new Error("Unexpected token in 'x'"), 'x'), 'a message that only quotes the name')
  for (const value of [undefined, null, 'Cannot find package \'x\'', 42, { code: 'ERR_MODULE_NOT_FOUND' }]) {
    t.notOk(isModuleNotFound(value, 'x'), String(value))
  }
})
