import { copyFileSync, existsSync, readFileSync, writeFileSync } from 'node:fs'
import { basename, join, resolve } from 'node:path'
import t from 'tap'
import {
  COMPOSE_FILE, DASHBOARD_FILE, DOCKER_DIR, PROMETHEUS_CONFIG, RULES_FILE, alertRules, metricNames,
  readYaml, ruleTestFiles
} from './helpers/monitoring-files.js'
import { PROMTOOL_MISSING, findPromtool, promtool } from './helpers/promtool.js'

/*
 * docker/prometheus/alerts.yml as Prometheus loads it, and its promtool unit tests: every
 * alert fires on a series that should fire it and stays quiet on one that should not.
 * Whether the metrics they name exist is monitoring.test.ts's (a real scrape).
 */

interface AlertTest {
  alertname: string
  eval_time: string
  exp_alerts?: unknown[]
}

interface RuleTestFile {
  rule_files: string[]
  tests: Array<{ input_series?: Array<{ series: string }>, alert_rule_test?: AlertTest[] }>
}

const bin = findPromtool()
if (bin === null) {
  t.fail(PROMTOOL_MISSING)
} else {
  t.test('alerts.yml passes promtool check rules', async (t) => {
    const rules = alertRules()
    const { code, output } = await promtool(bin, ['check', 'rules', RULES_FILE])
    t.equal(code, 0, 'promtool check rules exits 0', { output })
    t.match(output, `SUCCESS: ${rules.length} rules found`)
    t.same(rules.filter((rule) => typeof rule.alert !== 'string'), [], 'every rule is an alert')
    t.same(rules.filter((rule) => !['warning', 'critical'].includes(rule.labels?.severity ?? '')).map((rule) => rule.alert), [],
      'every alert has a severity, warning or critical')
    t.same(rules.filter((rule) => (rule.annotations?.summary ?? '') === '').map((rule) => rule.alert), [], 'and a summary')
  })

  t.test('every promtool unit test in docker/prometheus/tests passes', async (t) => {
    const files = ruleTestFiles()
    t.ok(files.length > 0, 'there are unit tests')
    const { code, output } = await promtool(bin, ['test', 'rules', ...files])
    t.equal(code, 0, 'promtool test rules exits 0', { output })
    t.equal(output.match(/SUCCESS/g)?.length, files.length, `${files.length} files, each a SUCCESS`)
  })

  t.test('each alert has a test where it fires and one where it stays quiet, on the metrics its rule reads', async (t) => {
    const rules = new Map(alertRules().map((rule) => [rule.alert, rule]))
    const fires = new Set<string>()
    const quiet = new Set<string>()
    for (const file of ruleTestFiles()) {
      const suite = readYaml(file) as RuleTestFile
      t.same(suite.rule_files.map((path) => resolve(join(file, '..'), path)), [RULES_FILE], `${basename(file)} tests alerts.yml itself`)
      for (const group of suite.tests) {
        const inputs = new Set((group.input_series ?? []).map(({ series }) => /^[a-zA-Z_:][a-zA-Z0-9_:]*/.exec(series)?.[0]))
        for (const check of group.alert_rule_test ?? []) {
          const rule = rules.get(check.alertname)
          if (rule === undefined) {
            // promtool passes an empty expectation of an alert that does not exist.
            t.fail(`${basename(file)} tests ${check.alertname}, which alerts.yml does not define`)
            continue
          }
          const read = metricNames(rule.expr).map((name) => name.replace(/_(bucket|sum|count)$/, '_'))
          const fed = [...inputs].some((input) => input === 'up' || read.some((name) => input?.startsWith(name)))
          t.ok(fed, `${basename(file)} at ${check.eval_time}: ${check.alertname} is evaluated on series its rule reads`)
          if ((check.exp_alerts ?? []).length > 0) fires.add(check.alertname)
          else quiet.add(check.alertname)
        }
      }
    }
    for (const alert of rules.keys()) {
      t.ok(fires.has(alert), `${alert} has a test where it fires`)
      t.ok(quiet.has(alert), `${alert} has a test where it stays quiet`)
    }
  })

  t.test('prometheus.yml passes promtool check config, loading alerts.yml, and scrapes the API with its bearer token', async (t) => {
    const config = readYaml(PROMETHEUS_CONFIG) as {
      rule_files: string[]
      scrape_configs: Array<{ job_name: string, metrics_path?: string, authorization?: { type?: string, credentials_file?: string }, static_configs: Array<{ targets: string[] }> }>
    }
    t.same(config.rule_files, ['alerts.yml'])
    const job = config.scrape_configs.find((scrape) => scrape.job_name === 'muejam-api')
    t.ok(job, 'the job the rules select (job="muejam-api")')
    t.equal(job?.metrics_path, '/metrics')
    t.equal(job?.authorization?.type, 'Bearer')
    t.same(job?.static_configs.flatMap((target) => target.targets), ['api-1:3000', 'api-2:3000'], 'both replicas of compose.yaml')

    const syntax = await promtool(bin, ['check', 'config', '--syntax-only', PROMETHEUS_CONFIG])
    t.equal(syntax.code, 0, 'promtool check config --syntax-only exits 0', { output: syntax.output })

    // In full, promtool also opens the token file, which the container writes from METRICS_TOKEN.
    const dir = t.testdir({})
    copyFileSync(PROMETHEUS_CONFIG, join(dir, 'prometheus.yml'))
    copyFileSync(RULES_FILE, join(dir, 'alerts.yml'))
    writeFileSync(join(dir, job?.authorization?.credentials_file ?? 'missing'), 'a-metrics-token')
    const full = await promtool(bin, ['check', 'config', join(dir, 'prometheus.yml')])
    t.equal(full.code, 0, 'promtool check config exits 0 with the token file in place', { output: full.output })
    t.match(full.output, `SUCCESS: ${alertRules().length} rules found`)
  })
}

t.test('compose.yaml runs Prometheus and Grafana in the monitoring profile, on the files of docker/', async (t) => {
  interface Service { image: string, profiles?: string[], volumes?: string[], command?: string[], networks?: string[] }
  const compose = readYaml(COMPOSE_FILE) as { services: Record<string, Service> }
  const { prometheus, grafana } = compose.services
  t.ok(prometheus && grafana, 'both services')
  t.same(prometheus?.profiles, ['monitoring'])
  t.same(grafana?.profiles, ['monitoring'])
  const base = ['postgres', 'pgbouncer', 'redis', 'migrate', 'api-1', 'api-2', 'lb']
  t.same(base.filter((name) => compose.services[name]?.profiles !== undefined), [], 'a plain `up` starts the stack as before')

  const mounts = (service: Service | undefined) => Object.fromEntries((service?.volumes ?? [])
    .filter((volume) => volume.startsWith('./'))
    .map((volume) => [volume.split(':')[1] as string, join(DOCKER_DIR, volume.split(':')[0] as string)]))
  const prometheusMounts = mounts(prometheus)
  t.same(prometheusMounts, {
    '/etc/prometheus/prometheus.yml': PROMETHEUS_CONFIG,
    '/etc/prometheus/alerts.yml': RULES_FILE
  })
  const config = readYaml(PROMETHEUS_CONFIG) as { scrape_configs: Array<{ authorization?: { credentials_file?: string } }> }
  const tokenFile = `/etc/prometheus/${config.scrape_configs[0]?.authorization?.credentials_file}`
  t.match(prometheus?.command?.join(' '), `"$$METRICS_TOKEN" > ${tokenFile} &&`, 'the entrypoint writes METRICS_TOKEN where prometheus.yml reads it')

  const grafanaMounts = mounts(grafana)
  for (const [target, source] of Object.entries(grafanaMounts)) t.ok(existsSync(source), `${target} is mounted from ${source}, which exists`)
  const provisioning = grafanaMounts['/etc/grafana/provisioning'] as string
  const datasources = readYaml(join(provisioning, 'datasources/prometheus.yml')) as { datasources: Array<{ uid: string, type: string, url: string }> }
  const providers = readYaml(join(provisioning, 'dashboards/muejam.yml')) as { providers: Array<{ options: { path: string } }> }
  const dashboards = providers.providers[0]?.options.path as string
  t.equal(grafanaMounts[dashboards], join(DASHBOARD_FILE, '..'), 'the dashboard provider reads the mounted docker/grafana/dashboards')
  t.match(datasources.datasources, [{ type: 'prometheus', url: 'http://prometheus:9090' }])

  const uids = new Set<unknown>()
  const visit = (node: unknown): void => {
    if (node === null || typeof node !== 'object') return
    for (const [key, value] of Object.entries(node)) {
      if (key === 'datasource') uids.add((value as { uid?: unknown } | null)?.uid)
      else visit(value)
    }
  }
  visit(JSON.parse(readFileSync(DASHBOARD_FILE, 'utf8')))
  t.same([...uids], [datasources.datasources[0]?.uid], 'every panel and variable queries the provisioned datasource')
})
