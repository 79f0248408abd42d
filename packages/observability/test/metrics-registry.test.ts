import { sampleKey, scrapeSamples } from '@muejam/testing/metrics'
import Fastify, { type FastifyInstance } from 'fastify'
import fp from 'fastify-plugin'
import { Counter } from 'prom-client'
import t from 'tap'
import observability, { DuplicateMetricError, InvalidMetricError, type MetricSpec } from '../src/index.js'
import { build, LogCapture } from './helpers/app.js'

const noop = () => 0

t.test('a counter and a gauge registered through app.metrics are read at each scrape, with exact values and labels', async (t) => {
  const app = await build(t)
  const refused = { total: 7 }
  const pools = [{ pool: 'primary', total: 5 }, { pool: 'replica-1', total: 2 }]
  app.metrics.counter({ name: 'widgets_refused_total', help: 'Widgets refused.', collect: () => refused.total })
  app.metrics.gauge({
    name: 'widget_pool_connections',
    help: 'Open connections, by pool.',
    labelNames: ['pool'],
    collect: () => pools.map(({ pool, total }) => ({ labels: { pool }, value: total }))
  })

  const response = await app.inject('/metrics')
  t.match(response.body, '# HELP widgets_refused_total Widgets refused.\n# TYPE widgets_refused_total counter')
  t.match(response.body, '# TYPE widget_pool_connections gauge')
  let samples = await scrapeSamples(app)
  t.equal(samples.get('widgets_refused_total'), 7)
  t.equal(samples.get(sampleKey('widget_pool_connections', { pool: 'primary' })), 5)
  t.equal(samples.get(sampleKey('widget_pool_connections', { pool: 'replica-1' })), 2)

  refused.total = 9
  pools.pop()
  samples = await scrapeSamples(app)
  t.equal(samples.get('widgets_refused_total'), 9, 'the owner\'s value at the time of the scrape')
  t.equal(samples.get(sampleKey('widget_pool_connections', { pool: 'replica-1' })), undefined, 'a label set gone from collect is gone from the scrape')
  app.metrics.registry.resetMetrics()
  t.equal((await scrapeSamples(app)).get('widgets_refused_total'), 9, 'a registry reset leaves values the owner keeps')
})

t.test('prefix: every metric registered through app.metrics and the plugin\'s own get it; process metrics and the host\'s raw prom-client ones do not', async (t) => {
  const app = await build(t, { prefix: 'shop_', defaultMetrics: true })
  t.equal(app.metrics.prefix, 'shop_')
  app.metrics.gauge({ name: 'queue_depth', help: 'Jobs waiting.', collect: () => 3 })
  new Counter({ name: 'host_own_total', help: 'The host\'s own.', registers: [app.metrics.registry] }).inc()
  app.get('/ok', async () => 'ok')
  await app.inject('/ok')
  app.audit({ event: 'thing.done', outcome: 'success' })

  const samples = await scrapeSamples(app)
  t.equal(samples.get('shop_queue_depth'), 3)
  t.equal(samples.get('queue_depth'), undefined)
  t.equal(samples.get(sampleKey('shop_http_request_duration_seconds_count', { method: 'GET', route: '/ok', status: '200' })), 1)
  t.equal(samples.get('shop_http_requests_in_flight'), 1)
  t.equal(samples.get(sampleKey('shop_audit_events_total', { event: 'thing.done' })), 1)
  t.equal(samples.get('shop_audit_suppressed_total'), 0)
  t.equal(samples.get('host_own_total'), 1)
  t.ok(samples.has('process_cpu_user_seconds_total'), 'process metrics keep prom-client\'s names')
  t.notOk([...samples.keys()].some((name) => name.startsWith('http_') || name.startsWith('audit_')), 'nothing unprefixed of the plugin\'s own')
})

t.test('the prefix defaults to empty', async (t) => {
  const app = await build(t)
  t.equal(app.metrics.prefix, '')
  app.get('/ok', async () => 'ok')
  await app.inject('/ok')
  const samples = await scrapeSamples(app)
  t.equal(samples.get(sampleKey('http_request_duration_seconds_count', { method: 'GET', route: '/ok', status: '200' })), 1)
  t.equal(samples.get('http_requests_in_flight'), 1)
})

t.test('a plugin registers its metric in onReady whether it was registered before or after observability', async (t) => {
  const owner = (name: string) => fp(async (app: FastifyInstance) => {
    app.addHook('onReady', async () => {
      if (app.hasDecorator('metrics')) app.metrics.counter({ name, help: 'Counted by its owner.', collect: () => 4 })
    })
  })
  const app = Fastify()
  t.teardown(() => app.close())
  await app.register(owner('before_total'))
  await app.register(observability, { defaultMetrics: false, prefix: 'x_' })
  await app.register(owner('after_total'))
  await app.ready()
  const samples = await scrapeSamples(app)
  t.equal(samples.get('x_before_total'), 4)
  t.equal(samples.get('x_after_total'), 4)

  const alone = Fastify()
  t.teardown(() => alone.close())
  await alone.register(owner('alone_total'))
  await alone.ready()
  t.equal(alone.hasDecorator('metrics'), false, 'without observability the owner registers nothing and starts fine')
})

t.test('invalid metric specs are refused at registration with MUEJAM_OBSERVABILITY_INVALID_METRIC naming the metric', async (t) => {
  const app = await build(t)
  const cases: Array<[string, unknown, RegExp]> = [
    ['empty name', { name: '', help: 'h', collect: noop }, /name must match/],
    ['a digit first', { name: '1_total', help: 'h', collect: noop }, /"1_total": the name must match/],
    ['a dash', { name: 'bad-name', help: 'h', collect: noop }, /"bad-name": the name must match/],
    ['a colon', { name: 'job:rate', help: 'h', collect: noop }, /no colon/],
    ['a space', { name: 'two words', help: 'h', collect: noop }, /name must match/],
    ['a number as name', { name: 42, help: 'h', collect: noop }, /"42": the name must match/],
    ['no help', { name: 'ok_total', collect: noop }, /"ok_total": help must be a non-empty string/],
    ['blank help', { name: 'ok_total', help: '  ', collect: noop }, /help must be a non-empty string/],
    ['no collect', { name: 'ok_total', help: 'h' }, /"ok_total": collect must be a function/],
    ['collect not a function', { name: 'ok_total', help: 'h', collect: 3 }, /collect must be a function/],
    ['labelNames not a list', { name: 'ok_total', help: 'h', labelNames: 'pool', collect: noop }, /labelNames must be a list/],
    ['a bad label', { name: 'ok_total', help: 'h', labelNames: ['bad-label'], collect: noop }, /label "bad-label" must match/],
    ['a reserved __ label', { name: 'ok_total', help: 'h', labelNames: ['__name'], collect: noop }, /label "__name"/],
    ['the le label', { name: 'ok_total', help: 'h', labelNames: ['le'], collect: noop }, /label "le"/],
    ['the quantile label', { name: 'ok_total', help: 'h', labelNames: ['quantile'], collect: noop }, /label "quantile"/],
    ['a label twice', { name: 'ok_total', help: 'h', labelNames: ['pool', 'pool'], collect: noop }, /must not repeat/],
    ['no spec', null, /"\(none\)": the spec must be an object/]
  ]
  for (const [what, spec, message] of cases) {
    for (const register of [app.metrics.counter, app.metrics.gauge]) {
      let error: unknown
      try {
        register.call(app.metrics, spec as MetricSpec)
      } catch (caught) {
        error = caught
      }
      t.ok(error instanceof InvalidMetricError, what)
      t.match(error, { code: 'MUEJAM_OBSERVABILITY_INVALID_METRIC', message }, what)
    }
  }
  t.notOk((await app.inject('/metrics')).body.includes('ok_total'), 'nothing half-registered')
})

t.test('a second metric under one name is refused with MUEJAM_OBSERVABILITY_DUPLICATE_METRIC, whoever registered the first', async (t) => {
  const app = await build(t, { prefix: 'app_' })
  app.metrics.counter({ name: 'jobs_total', help: 'Jobs.', collect: noop })
  t.throws(() => app.metrics.counter({ name: 'jobs_total', help: 'Jobs again.', collect: noop }),
    { code: 'MUEJAM_OBSERVABILITY_DUPLICATE_METRIC', message: 'A metric named "app_jobs_total" is already registered' })
  t.throws(() => app.metrics.gauge({ name: 'jobs_total', help: 'As a gauge.', collect: noop }), DuplicateMetricError)
  t.throws(() => app.metrics.gauge({ name: 'http_requests_in_flight', help: 'Clashes with the plugin\'s own.', collect: noop }),
    { code: 'MUEJAM_OBSERVABILITY_DUPLICATE_METRIC', message: /"app_http_requests_in_flight"/ })
  t.throws(() => app.metrics.gauge({ name: 'http_request_duration_seconds', help: 'Clashes with the histogram.', collect: noop }),
    DuplicateMetricError)
  const host = new Counter({ name: 'app_host_total', help: 'The host\'s own.', registers: [app.metrics.registry] })
  host.inc()
  t.throws(() => app.metrics.counter({ name: 'host_total', help: 'Clashes with the host\'s.', collect: noop }), DuplicateMetricError)
  t.equal((await scrapeSamples(app)).get('app_jobs_total'), 0, 'the first registration stands')
})

t.test('a collect that throws or returns nonsense exports no sample of its metric, logs a warning, and never breaks the scrape', async (t) => {
  const capture = new LogCapture()
  const app = await build(t, {}, { logger: { level: 'warn', stream: capture } })
  let value: unknown = 1
  app.metrics.gauge({ name: 'moody', help: 'Whatever collect returns.', labelNames: ['kind'], collect: () => value as number })
  app.metrics.counter({ name: 'steady_total', help: 'Always fine.', collect: () => 2 })
  app.metrics.counter({ name: 'negative_total', help: 'A counter cannot go below zero.', collect: () => -1 })
  app.metrics.gauge({ name: 'thrower', help: 'Its owner is gone.', collect: () => { throw new Error('owner gone') } })

  const bad: Array<[string, unknown]> = [
    ['NaN', Number.NaN],
    ['Infinity', Number.POSITIVE_INFINITY],
    ['a string', '3'],
    ['a promise', Promise.resolve(1)],
    ['a null sample', [null]],
    ['labels not an object', [{ labels: null, value: 1 }]],
    ['an undeclared label', [{ labels: { other: 'x' }, value: 1 }]],
    ['a label that is not a string', [{ labels: { kind: 1 }, value: 1 }]],
    ['a sample value that is not a number', [{ labels: { kind: 'a' }, value: '1' }]]
  ]
  for (const [what, returned] of bad) {
    value = returned
    const response = await app.inject('/metrics')
    t.equal(response.statusCode, 200, `${what}: the scrape answers`)
    t.notMatch(response.body, /^moody/m, `${what}: no sample of the metric`)
    t.match(response.body, /^steady_total 2$/m, `${what}: the other metrics are there`)
  }
  value = [{ labels: { kind: 'a' }, value: 1 }, { value: 2 }]
  const fine = await scrapeSamples(app)
  t.equal(fine.get(sampleKey('moody', { kind: 'a' })), 1, 'back to valid samples, back in the scrape')
  t.equal(fine.get('moody'), 2, 'a sample without labels is allowed')
  t.notOk([...fine.keys()].some((name) => name.startsWith('negative_total')), 'a negative counter exports nothing')
  t.notOk([...fine.keys()].some((name) => name.startsWith('thrower')), 'a throwing collect exports nothing')
  const warnings = capture.lines.filter((line) => line.msg === 'metric collect failed; no samples exported')
  t.ok(warnings.some((line) => line.metric === 'moody'))
  t.ok(warnings.some((line) => line.metric === 'negative_total'))
  t.ok(warnings.some((line) => (line.err as { message?: string } | undefined)?.message === 'owner gone'), 'the thrown error is logged')
})
