import { readdirSync, readFileSync } from 'node:fs'
import { fileURLToPath } from 'node:url'
import { parse } from 'yaml'

/*
 * The monitoring the repository ships in docker/: Prometheus's alert rules and their promtool
 * unit tests, Grafana's dashboard and provisioning, read as the tools read them.
 */

export const DOCKER_DIR = fileURLToPath(new URL('../../../../docker/', import.meta.url))
export const PROMETHEUS_DIR = `${DOCKER_DIR}prometheus/`
export const RULES_FILE = `${PROMETHEUS_DIR}alerts.yml`
export const RULE_TESTS_DIR = `${PROMETHEUS_DIR}tests/`
export const PROMETHEUS_CONFIG = `${PROMETHEUS_DIR}prometheus.yml`
export const DASHBOARD_FILE = `${DOCKER_DIR}grafana/dashboards/muejam.json`
export const COMPOSE_FILE = `${DOCKER_DIR}compose.yaml`

export function readYaml (path: string): unknown {
  return parse(readFileSync(path, 'utf8')) as unknown
}

export interface AlertRule {
  alert: string
  expr: string
  for?: string
  labels?: Record<string, string>
  annotations?: Record<string, string>
}

/** Every alerting rule of alerts.yml, across its groups. */
export function alertRules (): AlertRule[] {
  const { groups } = readYaml(RULES_FILE) as { groups: Array<{ rules: AlertRule[] }> }
  return groups.flatMap((group) => group.rules)
}

/** The promtool unit-test files: docker/prometheus/tests/*.test.yml. */
export function ruleTestFiles (): string[] {
  return readdirSync(RULE_TESTS_DIR).filter((name) => name.endsWith('.test.yml')).sort().map((name) => `${RULE_TESTS_DIR}${name}`)
}

/** Every PromQL expression of the dashboard: panel targets and templating queries. */
export function dashboardExpressions (): string[] {
  const found: string[] = []
  const visit = (node: unknown, key: string | null): void => {
    if (typeof node === 'string') {
      if (key === 'expr' || key === 'query' || key === 'definition') found.push(node)
      return
    }
    if (Array.isArray(node)) {
      for (const item of node) visit(item, key)
      return
    }
    if (node !== null && typeof node === 'object') {
      for (const [name, value] of Object.entries(node)) visit(value, name)
    }
  }
  visit(JSON.parse(readFileSync(DASHBOARD_FILE, 'utf8')), null)
  return found
}

/** Strings in quotes (label values, regexes) dropped, so only identifiers are left to match. */
function withoutStrings (expr: string): string {
  return expr.replace(/"(?:[^"\\]|\\.)*"|'(?:[^'\\]|\\.)*'|`[^`]*`/g, '""')
}

/** Names of the API's own metrics (`muejam_*`) and of its process and runtime metrics in a PromQL expression. */
export function metricNames (expr: string): string[] {
  return [...new Set(withoutStrings(expr).match(/\b(?:muejam|process|nodejs)_[a-zA-Z0-9_]+\b/g) ?? [])]
}

export interface Matcher {
  metric: string
  label: string
  op: '=' | '!=' | '=~' | '!~'
  value: string
}

/** The label matchers written right after a metric name: `name{label="value", ...}`. */
export function matchers (expr: string): Matcher[] {
  const found: Matcher[] = []
  for (const [, metric, body] of expr.matchAll(/\b([a-zA-Z_:][a-zA-Z0-9_:]*)\{([^}]*)\}/g)) {
    for (const [, label, op, value] of (body as string).matchAll(/([a-zA-Z_][a-zA-Z0-9_]*)\s*(=~|!~|!=|=)\s*"((?:[^"\\]|\\.)*)"/g)) {
      found.push({ metric: metric as string, label: label as string, op: op as Matcher['op'], value: value as string })
    }
  }
  return found
}

/** Metric families the exposition declares (`# TYPE name type`), by name. */
export function declaredTypes (exposition: string): Map<string, string> {
  const types = new Map<string, string>()
  for (const [, name, type] of exposition.matchAll(/^# TYPE (\S+) (\S+)$/gm)) types.set(name as string, type as string)
  return types
}

/**
 * The family a name used in PromQL reads: itself, or the histogram (or summary) whose
 * `_bucket`, `_sum` or `_count` series it names. Undefined when the exposition has none.
 */
export function familyOf (name: string, types: Map<string, string>): string | undefined {
  if (types.has(name)) return name
  const suffix = /^(.+)_(bucket|sum|count)$/.exec(name)
  if (suffix === null) return undefined
  const [, base, part] = suffix as unknown as [string, string, string]
  const type = types.get(base)
  if (type === 'histogram') return base
  if (type === 'summary' && part !== 'bucket') return base
  return undefined
}
