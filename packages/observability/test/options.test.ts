import Fastify from 'fastify'
import t from 'tap'
import observability, { InvalidOptionError, SecretRedactor, type ObservabilityOptions } from '../src/index.js'

async function registrationError (options: unknown): Promise<unknown> {
  const app = Fastify()
  try {
    await app.register(observability, options as ObservabilityOptions)
    await app.ready()
    return null
  } catch (error) {
    return error
  } finally {
    await app.close().catch(() => {})
  }
}

const invalid: Array<[string, Record<string, unknown>, string]> = [
  ['prefix', { prefix: 'my-app_' }, 'must be empty or start a Prometheus metric name'],
  ['prefix', { prefix: '1st_' }, 'must be empty or start a Prometheus metric name'],
  ['prefix', { prefix: 'ns:' }, 'must be empty or start a Prometheus metric name'],
  ['prefix', { prefix: 7 }, 'must be empty or start a Prometheus metric name'],
  ['metricsPath', { metricsPath: 'metrics' }, 'must be a path starting with "/"'],
  ['metricsPath', { metricsPath: 42 }, 'must be a path starting with "/"'],
  ['metricsToken', { metricsToken: 1234 }, 'must be a string or a function returning one'],
  ['sentryTags', { sentryTags: { trace_id: 'abc' } }, 'must be a function'],
  ['metricsRouteConfig', { metricsRouteConfig: ['auth'] }, 'must be an object'],
  ['metricsRouteConfig', { metricsRouteConfig: 'none' }, 'must be an object'],
  ['defaultMetrics', { defaultMetrics: 'yes' }, 'must be true or false'],
  ['durationBuckets', { durationBuckets: [] }, 'increasing positive numbers'],
  ['durationBuckets', { durationBuckets: [0.1, 0.05] }, 'increasing positive numbers'],
  ['durationBuckets', { durationBuckets: [0, 1] }, 'increasing positive numbers'],
  ['durationBuckets', { durationBuckets: [1, Number.POSITIVE_INFINITY] }, 'increasing positive numbers'],
  ['durationBuckets', { durationBuckets: '0.1,1' }, 'increasing positive numbers'],
  ['auditMaxPerKey', { auditMaxPerKey: 0 }, 'must be an integer of at least 1'],
  ['auditIntervalMs', { auditIntervalMs: 1.5 }, 'must be an integer number of milliseconds from 1 to 2147483647'],
  ['auditMaxKeys', { auditMaxKeys: '10' }, 'must be an integer of at least 1'],
  ['sentryFlushTimeoutMs', { sentryFlushTimeoutMs: -1 }, 'must be an integer number of milliseconds from 1 to 2147483647'],
  ['sentryDsn', { sentryDsn: 'not a dsn' }, 'must be a Sentry DSN'],
  ['sentryDsn', { sentryDsn: 'ftp://key@sentry.example.org/1' }, 'must be a Sentry DSN'],
  ['sentryDsn', { sentryDsn: 'https://sentry.example.org/1' }, 'must be a Sentry DSN'],
  ['sentryDsn', { sentryDsn: 'https://key-with-dash@sentry.example.org/1' }, 'must be a Sentry DSN'],
  ['sentryDsn', { sentryDsn: 'https://abc@sentry.example.org/project' }, 'must be a Sentry DSN'],
  ['sentryDsn', { sentryDsn: 7 }, 'must be a Sentry DSN'],
  ['sentryEnvironment', { sentryEnvironment: 3 }, 'must be a string'],
  ['sentryRelease', { sentryRelease: false }, 'must be a string'],
  ['secrets', { secrets: 'one-secret-value' }, 'list of strings or a SecretRedactor'],
  ['secrets', { secrets: null }, 'list of strings or a SecretRedactor'],
  ['secrets', { secrets: 12 }, 'list of strings or a SecretRedactor'],
  ['secrets', { secrets: ['fine-value', 42] }, 'list of strings or a SecretRedactor']
]

t.test('each invalid option is refused at registration with MUEJAM_OBSERVABILITY_INVALID_OPTION naming it', async (t) => {
  for (const [name, options, problem] of invalid) {
    const error = await registrationError(options)
    t.ok(error instanceof InvalidOptionError, `${name}: ${JSON.stringify(options)}`)
    t.match(error, { code: 'MUEJAM_OBSERVABILITY_INVALID_OPTION', message: new RegExp(`"${name}": .*${problem.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}`) })
  }
})

t.test('a refused DSN is not repeated in the error message', async (t) => {
  const error = await registrationError({ sentryDsn: 'https://secretkey-x@sentry.example.org/1' }) as Error
  t.equal((error as { code?: string }).code, 'MUEJAM_OBSERVABILITY_INVALID_OPTION')
  t.notOk(error.message.includes('secretkey'))
})

t.test('valid options register, empty strings meaning "not set"', async (t) => {
  const valid: ObservabilityOptions[] = [
    {},
    { metricsToken: null, sentryDsn: null },
    { metricsToken: '', sentryDsn: '', sentryEnvironment: '', sentryRelease: '' },
    { metricsToken: () => 'a-metrics-token-of-thirty-two-chars-x' },
    { sentryDsn: 'https://0123abcd@sentry.example.org/4501' },
    { sentryDsn: 'http://abc:def@[::1]:9000/some/path/7' },
    { durationBuckets: [0.01, 0.1, 1], auditMaxPerKey: 1, auditIntervalMs: 1, auditMaxKeys: 1, sentryFlushTimeoutMs: 1 },
    { secrets: new Set(['a-secret-value']) },
    { secrets: new SecretRedactor(['a-secret-value']) },
    { defaultMetrics: false, metricsRouteConfig: { auth: false } }
  ]
  for (const options of valid) {
    t.equal(await registrationError({ defaultMetrics: false, ...options }), null, JSON.stringify(options))
  }
})
