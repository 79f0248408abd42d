import { sampleKey, scrapeSamples } from '@muejam/testing/metrics'
import Fastify, { type FastifyInstance } from 'fastify'
import t from 'tap'
import { AuditLog } from '../src/audit.js'
import observability, { loggerOptions, requestIdFrom, type ObservabilityOptions } from '../src/index.js'
import { LogCapture } from './helpers/app.js'

interface Teardown { teardown(fn: () => unknown): void }

async function build (t: Teardown, options: ObservabilityOptions = {}, level = 'info') {
  const capture = new LogCapture()
  const app = Fastify({ logger: { ...loggerOptions({ level }), stream: capture }, genReqId: requestIdFrom })
  t.teardown(() => app.close())
  await app.register(observability, { defaultMetrics: false, ...options })
  return { app, capture }
}

function spin (ms: number) {
  const until = performance.now() + ms
  while (performance.now() < until);
}

t.test('an audit line is one structured info line with event, actor, target, outcome and request id', async (t) => {
  const { app, capture } = await build(t)
  app.get('/v1/me', async (request) => {
    app.audit({ event: 'profile.created', actor: 'user_123', target: 'profile:9f1c', outcome: 'success', handle: 'ana' }, request)
    return { ok: true }
  })
  const response = await app.inject({ url: '/v1/me', headers: { 'x-request-id': 'req-audit-1' } })
  app.audit({ event: 'config.loaded', outcome: 'success', sources: { env: ['PORT'] } })

  const lines = capture.audit()
  t.equal(lines.length, 2)
  t.match(lines[0], {
    audit: true,
    level: 30,
    msg: 'audit',
    event: 'profile.created',
    actor: 'user_123',
    target: 'profile:9f1c',
    outcome: 'success',
    request_id: 'req-audit-1',
    handle: 'ana'
  })
  t.equal(response.headers['x-request-id'], 'req-audit-1')
  t.match(lines[1], { audit: true, event: 'config.loaded', actor: null, target: null, outcome: 'success', request_id: null, sources: { env: ['PORT'] } })
})

t.test('event fields cannot overwrite the fixed audit members or pino\'s own', async (t) => {
  const { app, capture } = await build(t)
  app.audit({ event: 'x.happened', outcome: 'success', audit: false, level: 99, msg: 'forged', request_id: 'forged', time: 0, extra: 1 })
  const [line] = capture.audit()
  t.match(line, { audit: true, level: 30, msg: 'audit', request_id: null, extra: 1 })
  t.not(line?.time, 0)
  t.equal(capture.raw.filter((raw) => raw.includes('"level"')).every((raw) => raw.indexOf('"level"') === raw.lastIndexOf('"level"')), true,
    'no line carries a key twice')
})

t.test('1 000 bad tokens from one client in a second produce a bounded number of audit lines, each still counted in metrics', async (t) => {
  const { app, capture } = await build(t)
  // What an authentication plugin does on a bad token, through the documented contracts: count, audit, refuse.
  const failures: Record<string, number> = {}
  app.metrics.counter({
    name: 'auth_failures_total',
    help: 'Rejected credentials, by reason.',
    labelNames: ['reason'],
    collect: () => Object.entries(failures).map(([reason, value]) => ({ labels: { reason }, value }))
  })
  app.get('/v1/stories', {
    onRequest: async (request, reply) => {
      const reason = 'token_invalid_signature'
      failures[reason] = (failures[reason] ?? 0) + 1
      app.auditLimited(`ip:${request.ip}`, { event: 'auth.failed', actor: null, outcome: 'failure', reason, ip: request.ip }, request)
      return reply.code(401).send({ code: reason })
    }
  }, async () => 'never')

  const started = performance.now()
  for (let i = 0; i < 1000; i++) {
    const response = await app.inject({ url: '/v1/stories', headers: { authorization: `Bearer bad.token.${i}` } })
    if (response.statusCode !== 401) t.fail(`attempt ${i} answered ${response.statusCode}`)
  }
  t.comment(`1 000 attempts took ${Math.round(performance.now() - started)} ms`)
  // Another client is not silenced by the first one's flood.
  await app.inject({ url: '/v1/stories', remoteAddress: '198.51.100.7' })

  const samples = await scrapeSamples(app)
  t.equal(samples.get(sampleKey('auth_failures_total', { reason: 'token_invalid_signature' })), 1001)
  t.equal(samples.get(sampleKey('audit_events_total', { event: 'auth.failed' })), 1001)
  t.equal(samples.get('audit_suppressed_total'), 995)

  await app.close()
  const lines = capture.audit()
  const written = lines.filter((line) => line.event === 'auth.failed')
  t.equal(written.filter((line) => line.ip === '127.0.0.1').length, 5, 'five lines for the flooding client')
  t.equal(written.filter((line) => line.ip === '198.51.100.7').length, 1, 'the other client still gets its line')
  const summaries = lines.filter((line) => line.event === 'audit.suppressed')
  t.equal(summaries.length, 1, 'one summary line')
  t.match(summaries[0], { target: 'ip:127.0.0.1', outcome: 'suppressed', suppressed: 995, events: { 'auth.failed': 995 }, window_ms: 60_000 })
  t.ok(lines.length <= 7, `${lines.length} audit lines for 1 001 failures`)
})

t.test('a moderator deleting another user\'s story produces exactly one audit line naming both', async (t) => {
  const { app, capture } = await build(t)
  app.delete('/v1/stories/:id', async (request, reply) => {
    const { id } = request.params as { id: string }
    app.audit({
      event: 'story.deleted_by_moderator',
      actor: 'user_moderator_1',
      target: `story:${id}`,
      outcome: 'success',
      owner: 'user_author_2'
    }, request)
    return reply.code(204).send()
  })
  const response = await app.inject({ method: 'DELETE', url: '/v1/stories/1c8e5b36-6c1e-4a53-9a57-2f6d3c1f0a11' })
  t.equal(response.statusCode, 204)
  const lines = capture.audit()
  t.equal(lines.length, 1)
  t.match(lines[0], {
    event: 'story.deleted_by_moderator',
    actor: 'user_moderator_1',
    owner: 'user_author_2',
    target: 'story:1c8e5b36-6c1e-4a53-9a57-2f6d3c1f0a11',
    request_id: response.headers['x-request-id']
  })
})

t.test('the summary is written when the window ends, and the key may write again afterwards', async (t) => {
  const { app, capture } = await build(t, { auditMaxPerKey: 2, auditIntervalMs: 100 })
  for (let i = 0; i < 5; i++) app.auditLimited('ip:203.0.113.1', { event: 'auth.failed', outcome: 'failure' })
  t.equal(capture.audit().length, 2)

  let summary: Record<string, unknown> | undefined
  for (let i = 0; i < 100 && summary === undefined; i++) {
    await new Promise((resolve) => setTimeout(resolve, 20))
    summary = capture.audit().find((line) => line.event === 'audit.suppressed')
  }
  t.match(summary, { suppressed: 3, target: 'ip:203.0.113.1', window_ms: 100 }, 'written by the sweep, with no further event')
  t.equal(app.auditLimited('ip:203.0.113.1', { event: 'auth.failed', outcome: 'failure' }), true, 'a new window')
  t.equal(capture.audit().filter((line) => line.event === 'auth.failed').length, 3)
})

t.test('an expired window met by the next event is summarised before the event is written', async (t) => {
  const capture = new LogCapture()
  const app = Fastify({ logger: { level: 'info', stream: capture } })
  t.teardown(() => app.close())
  await app.ready()
  const audit = new AuditLog(app.log, { maxPerKey: 1, intervalMs: 50, maxKeys: 10 })
  t.teardown(() => audit.close())
  t.equal(audit.writeLimited('k', { event: 'a', outcome: 'failure' }), true)
  t.equal(audit.writeLimited('k', { event: 'a', outcome: 'failure' }), false)
  spin(80) // no timer can run during a synchronous wait: the next call finds the window expired
  t.equal(audit.writeLimited('k', { event: 'b', outcome: 'failure' }), true)
  t.same(capture.audit().map((line) => [line.event, line.suppressed]), [['a', undefined], ['audit.suppressed', 1], ['b', undefined]])
  t.same(audit.stats, { events: { a: 2, b: 1 }, suppressed: 1 })
})

t.test('beyond auditMaxKeys new keys share one window, so memory and lines stay bounded', async (t) => {
  const { app, capture } = await build(t, { auditMaxPerKey: 1, auditMaxKeys: 3 })
  for (let i = 0; i < 10; i++) app.auditLimited(`ip:10.0.0.${i}`, { event: 'auth.failed', outcome: 'failure' })
  t.equal(capture.audit().length, 4, 'three keys of their own, one shared line')
  await app.close()
  const summary = capture.audit().find((line) => line.event === 'audit.suppressed')
  t.match(summary, { target: '*', suppressed: 6 })
})

t.test('audit lines survive a warn log level but not a silent logger', async (t) => {
  const { app, capture } = await build(t, {}, 'warn')
  app.log.info('not written at warn')
  app.audit({ event: 'config.secret_rotated', outcome: 'success', variables: ['DATABASE_URL'] })
  t.same(capture.lines.map((line) => line.msg), ['audit'])

  const silent = await build(t, {}, 'silent')
  silent.app.audit({ event: 'config.loaded', outcome: 'success' })
  t.equal(silent.capture.raw.length, 0)
})

t.test('bad scrapes of a protected /metrics are audited, bounded per client', async (t) => {
  const { app, capture } = await build(t, { metricsToken: 'metrics-token-with-32-characters-x', auditMaxPerKey: 3 })
  for (let i = 0; i < 50; i++) await app.inject({ url: '/metrics', headers: { authorization: `Bearer guess-${i}` } })
  await app.inject('/metrics')
  const lines = capture.audit()
  t.equal(lines.length, 3)
  t.match(lines[0], { event: 'metrics.auth_failed', outcome: 'failure', reason: 'token_invalid', target: '/metrics', ip: '127.0.0.1' })
  await (app as FastifyInstance).close()
  t.match(capture.audit().at(-1), { event: 'audit.suppressed', suppressed: 48, events: { 'metrics.auth_failed': 48 } })
})
