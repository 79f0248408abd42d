import t from 'tap'
import { ErrorReporter, SENTRY_MODULE } from '../src/error-reporter.js'
import { MissingPeerError } from '../src/index.js'
import { assertInstalled, importOptionalPeer } from '../src/optional-peer.js'
import { SecretRedactor } from '../src/redact.js'

const reporterOptions = { dsn: 'https://key@sentry.example.org/1', flushTimeoutMs: 100, redactor: new SecretRedactor() }

t.test('with a DSN and @sentry/node missing, the reporter fails at start-up with MUEJAM_OBSERVABILITY_MISSING_PEER naming npm install', async (t) => {
  const error = await ErrorReporter.create({ ...reporterOptions, sentryModule: '@sentry/not-installed' }).catch((caught: unknown) => caught)
  t.ok(error instanceof MissingPeerError)
  t.match(error, {
    code: 'MUEJAM_OBSERVABILITY_MISSING_PEER',
    message: 'Error reporting (@muejam/observability option sentryDsn) needs the optional peer dependency @sentry/not-installed, which is not installed: run `npm install @sentry/not-installed`'
  })
})

t.test('the reporter loads @sentry/node by default, and only when reporting', async (t) => {
  t.equal(SENTRY_MODULE, '@sentry/node')
  const reporter = await ErrorReporter.create(reporterOptions)
  t.equal(await reporter.close(), true, 'closing a reporter that never reported loads nothing')
})

t.test('importOptionalPeer names the package to install when it is missing, and passes other failures through', async (t) => {
  await t.rejects(importOptionalPeer('@sentry/not-installed', 'Reporting'), {
    code: 'MUEJAM_OBSERVABILITY_MISSING_PEER',
    message: /^Reporting needs the optional peer dependency @sentry\/not-installed, .*`npm install @sentry\/not-installed`$/
  })
  await t.rejects(importOptionalPeer('data:text/javascript,throw new Error("broken inside")', 'Reporting'), { message: 'broken inside' },
    'an installed package that fails to load is not reported as missing')
  const loaded = await importOptionalPeer<{ default: unknown }>('data:text/javascript,export default 42', 'Reporting')
  t.equal(loaded.default, 42)
})

t.test('assertInstalled passes for an installed package and names a missing one', async (t) => {
  t.doesNotThrow(() => assertInstalled('prom-client', 'Metrics'))
  t.throws(() => assertInstalled('not-a-package-here', 'Metrics'), { code: 'MUEJAM_OBSERVABILITY_MISSING_PEER', message: /npm install not-a-package-here/ })
  let broken: unknown
  try {
    assertInstalled('prom-client/no-such-subpath', 'Metrics')
  } catch (error) {
    broken = error
  }
  t.ok(broken instanceof Error, 'a package that does not resolve for another reason throws')
  t.notOk(broken instanceof MissingPeerError, 'and is not reported as missing')
})
