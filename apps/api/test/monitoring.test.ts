import { randomBytes, randomUUID } from 'node:crypto'
import { startJwksServer } from '@muejam/testing/jwks'
import t, { type Test } from 'tap'
import { build, databaseEnv } from './helpers/build.js'
import { parseMetrics, type Sample } from './helpers/metrics.js'
import {
  alertRules, dashboardExpressions, declaredTypes, familyOf, matchers, metricNames
} from './helpers/monitoring-files.js'
import { PROMTOOL_MISSING, findPromtool, promtool } from './helpers/promtool.js'
import { claimRedisDatabase } from './helpers/redis.js'

/*
 * The monitoring in docker/ against a real scrape: the API on PostgreSQL, Redis and a JWKS,
 * after a little traffic of every kind, so each labelled series exists. The rules and the
 * dashboard may only read metrics (and labels) that scrape has, and promtool lints it.
 */

const METRICS_TOKEN = randomBytes(32).toString('base64url')

const database = await databaseEnv(t, 'monitoring')
const redis = await claimRedisDatabase(t, 'api-monitoring')
const jwks = await startJwksServer(t)
const app = await build(t, {
  ...database,
  REDIS_URL: redis.url,
  // http is fine outside production; AUTH_JWT_KEY empty: keys come from the JWKS, with their health check.
  AUTH_ISSUER: jwks.issuer,
  AUTH_JWT_KEY: '',
  METRICS_TOKEN
})

const bearer = async (sub: string) => ({ authorization: `Bearer ${await jwks.sign({ sub })}` })
const created = await app.inject({ method: 'POST', url: '/v1/stories', headers: await bearer('user_2abcMonitoringAuthor'), body: { title: 'Watched' } })
const traffic = [
  created.statusCode,
  (await app.inject({ url: `/v1/stories/${created.json<{ id: string }>().id}`, headers: await bearer('user_2abcMonitoringAuthor') })).statusCode,
  (await app.inject('/v1/stories')).statusCode,
  (await app.inject(`/v1/stories/${randomUUID()}`)).statusCode,
  (await app.inject({ url: '/v1/me', headers: { authorization: `Bearer ${(await jwks.sign({ sub: 'user_2abcMonitoringLate' })).slice(0, -4)}AAAA` } })).statusCode,
  (await app.inject('/nowhere')).statusCode,
  (await app.inject('/health/ready')).statusCode
]
t.same(traffic, [201, 200, 200, 404, 401, 404, 200], 'a write, reads, a missing story, a refused token, an unknown route, readiness')

const scraped = await app.inject({ url: '/metrics', headers: { authorization: `Bearer ${METRICS_TOKEN}` } })
t.equal(scraped.statusCode, 200, 'scraped with the metrics token')
const exposition = scraped.body
const samples = parseMetrics(exposition)
const types = declaredTypes(exposition)

/** The exposition of the API's own metrics only: `# HELP`, `# TYPE` and samples of `muejam_*`. */
const ownExposition = exposition.split('\n').filter((line) => /^(# (HELP|TYPE) )?muejam_/.test(line)).join('\n') + '\n'

const bin = findPromtool()
t.test('promtool check metrics passes on the scrape', async (t) => {
  if (bin === null) {
    t.fail(PROMTOOL_MISSING)
    return
  }
  t.ok(samples.filter((sample) => sample.name.startsWith('muejam_')).length > 50, 'the API\'s own metrics, with their labelled series')
  const own = await promtool(bin, ['check', 'metrics'], ownExposition)
  t.equal(own.code, 0, 'promtool check metrics exits 0 on the API\'s own metrics (muejam_*)', { output: own.output })
  t.equal(own.output.trim(), '', 'and reports no problem')

  t.ok(samples.some((sample) => sample.name.startsWith('nodejs_')), 'the scrape has prom-client\'s runtime metrics too')
  const whole = await promtool(bin, ['check', 'metrics'], exposition)
  t.equal(whole.code, 0, 'promtool check metrics exits 0 on the whole scrape, runtime metrics included', { output: whole.output })
  t.equal(whole.output.trim(), '', 'and reports no problem')
})

/** Each metric name the expressions use, with where it is used. */
function usedNames (expressions: Array<{ where: string, expr: string }>): Map<string, string[]> {
  const used = new Map<string, string[]>()
  for (const { where, expr } of expressions) {
    for (const name of metricNames(expr)) used.set(name, [...(used.get(name) ?? []), where])
  }
  return used
}

function checkNamesExist (t: Test, expressions: Array<{ where: string, expr: string }>) {
  const used = usedNames(expressions)
  for (const [name, where] of used) {
    t.ok(familyOf(name, types), `${name} (${[...new Set(where)].join(', ')}) is in the scrape`)
  }
  return used
}

/** The samples of the family a PromQL name reads (a histogram's `_bucket` reads `<base>_bucket`). */
const seriesOf = (name: string): Sample[] => samples.filter((sample) => sample.name === name)

/**
 * Label names in a selector must exist on the metric (job and instance are Prometheus's own);
 * equality on a check or a reason must name one the API reports. Statuses are states, present
 * only when they happen.
 */
function checkMatchers (t: Test, expressions: Array<{ where: string, expr: string }>) {
  for (const { where, expr } of expressions) {
    for (const matcher of matchers(expr)) {
      if (familyOf(matcher.metric, types) === undefined || ['job', 'instance'].includes(matcher.label)) continue
      const series = seriesOf(matcher.metric)
      t.ok(series.some((sample) => matcher.label in sample.labels), `${where}: ${matcher.metric} has the label ${matcher.label}`)
      if (matcher.op === '=' && matcher.label !== 'status') {
        t.ok(series.some((sample) => sample.labels[matcher.label] === matcher.value), `${where}: ${matcher.metric}{${matcher.label}="${matcher.value}"} is reported`)
      }
    }
  }
}

const ruleExpressions = alertRules().map((rule) => ({ where: rule.alert, expr: rule.expr }))
const dashboard = dashboardExpressions().map((expr, index) => ({ where: `dashboard query ${index + 1}`, expr }))

t.test('every metric the alert rules read exists in the scrape, with the labels they select', async (t) => {
  const used = checkNamesExist(t, ruleExpressions)
  t.ok([...used.keys()].filter((name) => name.startsWith('muejam_')).length >= 8, 'the rules read the API\'s own metrics')
  checkMatchers(t, ruleExpressions)
})

t.test('every metric the Grafana dashboard queries exists in the scrape, with the labels it selects', async (t) => {
  const used = checkNamesExist(t, dashboard)
  const fromRules = new Set([...usedNames(ruleExpressions).keys()].map((name) => familyOf(name, types)))
  const shown = new Set([...used.keys()].map((name) => familyOf(name, types)))
  t.same([...fromRules].filter((family) => !shown.has(family)), [], 'the dashboard shows every metric an alert reads')
  checkMatchers(t, dashboard)
})

t.test('the checks the rules name are in the health report', async (t) => {
  const checks = new Set(seriesOf('muejam_health_check_status').map((sample) => sample.labels.check))
  t.ok(checks.has('auth_keys'), 'auth_keys (the JWKS)')
  t.ok(checks.has('database'))
  t.ok(checks.has('cache'), 'the rate-limit store')
})

t.test('the JWKS counters the fetch alert reads count the one fetch the traffic made', async (t) => {
  t.same(seriesOf('muejam_auth_jwks_fetches_total').map((sample) => sample.value), [1])
  t.same(seriesOf('muejam_auth_jwks_fetch_failures_total').map((sample) => sample.value), [0])
  t.equal(types.get('muejam_auth_jwks_fetch_failures_total'), 'counter')
})
