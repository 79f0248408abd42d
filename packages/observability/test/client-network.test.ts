import * as shared from '@muejam/problem'
import { sampleKey, scrapeSamples } from '@muejam/testing/metrics'
import t from 'tap'
import { clientNetwork } from '../src/index.js'
import { build, LogCapture } from './helpers/app.js'

t.test('clientNetwork is the shared definition of @muejam/problem, the key @muejam/rate-limit counts by', async (t) => {
  t.equal(clientNetwork, shared.clientNetwork)
  t.equal(clientNetwork('2001:db8:1:2::1'), '2001:db8:1:2::/64')
})

t.test('failed scrapes from two IPv6 addresses of one /64 share one audit budget; another /64 has its own', async (t) => {
  const capture = new LogCapture()
  const app = await build(t, { metricsToken: 'a-metrics-token-of-thirty-two-chars-x', auditMaxPerKey: 2 }, { logger: { level: 'info', stream: capture } })
  const statuses: number[] = []
  for (const remoteAddress of ['2001:db8:7:1::a', '2001:db8:7:1:ffff::b', '2001:db8:7:1::a', '2001:db8:7:1:ffff::b', '2001:db8:7:2::a']) {
    statuses.push((await app.inject({ url: '/metrics', remoteAddress })).statusCode)
  }
  t.same(statuses, [401, 401, 401, 401, 401])
  const written = capture.audit().filter((line) => line.event === 'metrics.auth_failed').map((line) => line.ip)
  t.same(written, ['2001:db8:7:1::a', '2001:db8:7:1:ffff::b', '2001:db8:7:2::a'], 'two lines for the first /64, then silence; the next /64 still written')
  const samples = await scrapeSamples(app, 'a-metrics-token-of-thirty-two-chars-x')
  t.equal(samples.get(sampleKey('audit_events_total', { event: 'metrics.auth_failed' })), 5, 'every failure counted')
  t.equal(samples.get('audit_suppressed_total'), 2)
  await app.close()
  t.match(capture.audit().find((line) => line.event === 'audit.suppressed'), { target: 'metrics:2001:db8:7:1::/64', suppressed: 2 })
})
