import underPressure from '@fastify/under-pressure'
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify'
import { createOptionValidators } from '@muejam/problem'
import fp from 'fastify-plugin'
import { diskPercentUsed } from './disk.js'
import { InvalidOptionError, OverloadedError } from './errors.js'
import { type Health, HealthRegistry, type HealthStatus } from './registry.js'
import { registerStatusMetrics } from './status-metrics.js'

export { diskPercentUsed } from './disk.js'
export { DuplicateCheckError, InvalidCheckError, InvalidOptionError, OverloadedError } from './errors.js'
export type { AddCheckOptions, CheckDetails, CheckResult, Health, HealthCheck, HealthReport, HealthStatus } from './registry.js'

export interface HealthOptions {
  /** Path prefix of the routes (`<prefix>`, `<prefix>/live`, `<prefix>/ready`). Default `/health`. */
  prefix?: string
  /** Shown as `version` in the report. Default `unknown`. */
  version?: string
  /** How long a report is reused, in milliseconds; probes inside it run no check. Default 1000. */
  cacheMs?: number
  /** Default timeout of a check, in milliseconds. Default 1000. */
  checkTimeoutMs?: number
  /** Path whose file system the `disk` check measures; `false` for no disk check. Default `/`. */
  diskPath?: string | false
  /** Reads the percentage (0–100) of disk in use; replaces `statfs(diskPath)`. */
  diskUsage?: () => Promise<number>
  /** Disk use, in percent, above which `disk` is degraded. Default 80. */
  diskDegradedPercent?: number
  /** Disk use, in percent, above which `disk` is unhealthy. Default 90. */
  diskUnhealthyPercent?: number
  /** Shed load when the mean event-loop delay exceeds this, in milliseconds; 0 = off. Default 1000. */
  maxEventLoopDelayMs?: number
  /** Shed load when the V8 heap in use exceeds this, in bytes; 0 = off. Default 0. */
  maxHeapUsedBytes?: number
  /** Shed load when the resident set size exceeds this, in bytes; 0 = off. Default 0. */
  maxRssBytes?: number
  /** How often event-loop delay and memory are sampled, in milliseconds. Default 1000. */
  pressureSampleIntervalMs?: number
  /** `Retry-After` of a shed request, in seconds. Default 10. */
  retryAfterS?: number
  /**
   * Merged into the `config` of each health route, for the host's other plugins: e.g.
   * `{ auth: false }` so a probe that sends an `Authorization` header is not refused. Default `{}`.
   */
  routeConfig?: Record<string, unknown>
}

type PressureHandler = (request: FastifyRequest, reply: FastifyReply, type: string, value: number | undefined) => Promise<void> | void

declare module 'fastify' {
  interface FastifyInstance {
    health: Health
  }
  interface FastifyContextConfig {
    /** `@fastify/under-pressure`'s per-route handler of an overloaded process. */
    pressureHandler?: PressureHandler
  }
}

const TYPE_EVENT_LOOP_DELAY = underPressure.TYPE_EVENT_LOOP_DELAY

const PREFIX = /^\/[A-Za-z0-9._~\-/]*[A-Za-z0-9._~-]$/

const option = createOptionValidators(InvalidOptionError)

function resolveOptions (options: HealthOptions) {
  const prefix = options.prefix ?? '/health'
  if (typeof prefix !== 'string' || !PREFIX.test(prefix) || prefix.includes('//')) {
    throw new InvalidOptionError('prefix', 'must be a path such as /health, without a trailing slash')
  }
  const version = option.string('version', options.version, { default: 'unknown' })
  const diskPath = options.diskPath ?? '/'
  if (diskPath !== false && (typeof diskPath !== 'string' || diskPath === '')) {
    throw new InvalidOptionError('diskPath', 'must be a path or false')
  }
  const diskUsage = option.func('diskUsage', options.diskUsage)
  const percent = { min: 1, max: 100 }
  const diskDegradedPercent = option.integer('diskDegradedPercent', options.diskDegradedPercent, { ...percent, default: 80 })
  const diskUnhealthyPercent = option.integer('diskUnhealthyPercent', options.diskUnhealthyPercent, { ...percent, default: 90 })
  if (diskUnhealthyPercent < diskDegradedPercent) {
    throw new InvalidOptionError('diskUnhealthyPercent', 'must not be below diskDegradedPercent')
  }
  return {
    prefix,
    routeConfig: option.object('routeConfig', options.routeConfig, { default: {} }),
    version,
    cacheMs: option.milliseconds('cacheMs', options.cacheMs, { max: 60_000, default: 1000 }),
    checkTimeoutMs: option.milliseconds('checkTimeoutMs', options.checkTimeoutMs, { min: 1, max: 60_000, default: 1000 }),
    diskUsage: diskUsage ?? (diskPath === false ? null : () => diskPercentUsed(diskPath)),
    diskDegradedPercent,
    diskUnhealthyPercent,
    maxEventLoopDelayMs: option.milliseconds('maxEventLoopDelayMs', options.maxEventLoopDelayMs, { default: 1000 }),
    maxHeapUsedBytes: option.integer('maxHeapUsedBytes', options.maxHeapUsedBytes, { default: 0 }),
    maxRssBytes: option.integer('maxRssBytes', options.maxRssBytes, { default: 0 }),
    pressureSampleIntervalMs: option.milliseconds('pressureSampleIntervalMs', options.pressureSampleIntervalMs, { min: 10, max: 60_000, default: 1000 }),
    retryAfterS: option.integer('retryAfterS', options.retryAfterS, { min: 1, max: 3600, default: 10 })
  }
}

const round1 = (value: number) => Math.round(value * 10) / 10

async function healthPlugin (app: FastifyInstance, options: HealthOptions) {
  const settings = resolveOptions(options)
  const registry = new HealthRegistry({
    cacheMs: settings.cacheMs,
    checkTimeoutMs: settings.checkTimeoutMs,
    version: settings.version,
    log: app.log
  })
  app.decorate('health', registry)
  registerStatusMetrics(app, registry)

  const { retryAfterS, maxEventLoopDelayMs, maxHeapUsedBytes, maxRssBytes } = settings
  await app.register(underPressure, {
    maxEventLoopDelay: maxEventLoopDelayMs,
    maxHeapUsedBytes,
    maxRssBytes,
    sampleInterval: settings.pressureSampleIntervalMs,
    retryAfter: retryAfterS,
    pressureHandler: async (_request, reply, type) => {
      // Start-up (module loading, an embedded database's initdb) blocks the loop; that delay
      // says nothing about the load, so it sheds nothing until two samples after listening.
      if (type === TYPE_EVENT_LOOP_DELAY && Date.now() < sheddingFrom) return
      reply.header('retry-after', String(retryAfterS))
      throw new OverloadedError(retryAfterS)
    }
  })
  let sheddingFrom = Number.POSITIVE_INFINITY
  const settle = async () => { sheddingFrom = Date.now() + 2 * settings.pressureSampleIntervalMs }
  app.addHook('onReady', settle)
  app.addHook('onListen', settle)

  registry.addCheck('event_loop', () => {
    const { eventLoopDelay, eventLoopUtilized } = app.memoryUsage()
    const over = maxEventLoopDelayMs > 0 && eventLoopDelay > maxEventLoopDelayMs
    return { status: over ? 'degraded' : 'healthy', delay_ms: round1(eventLoopDelay), utilization: Math.round(eventLoopUtilized * 1000) / 1000 }
  }, { critical: false })
  registry.addCheck('memory', () => {
    const { heapUsed, rssBytes } = app.memoryUsage()
    const over = (maxHeapUsedBytes > 0 && heapUsed > maxHeapUsedBytes) || (maxRssBytes > 0 && rssBytes > maxRssBytes)
    return { status: over ? 'degraded' : 'healthy', heap_used_bytes: heapUsed, rss_bytes: rssBytes }
  }, { critical: false })
  const diskUsage = settings.diskUsage
  if (diskUsage !== null) {
    registry.addCheck('disk', async () => {
      const percent = await diskUsage()
      if (typeof percent !== 'number' || !Number.isFinite(percent)) throw new TypeError('disk usage is not a number')
      const status: HealthStatus = percent > settings.diskUnhealthyPercent
        ? 'unhealthy'
        : percent > settings.diskDegradedPercent ? 'degraded' : 'healthy'
      return { status, percent_used: round1(percent) }
    })
  }

  // Readiness fails as soon as the server starts closing, whoever closes it.
  app.addHook('preClose', async () => registry.startDraining())
  // While draining, each answer closes its connection: a balancer's pooled keep-alive
  // connection would otherwise outlive the drain and carry a request (a POST it may not
  // retry) into the closing server, which refuses it with 503.
  app.addHook('onSend', function closeWhileDraining (_request, reply, payload, done) {
    if (registry.draining) reply.header('connection', 'close')
    done(null, payload)
  })

  // The routes live in a scope of their own: nothing they add leaks into the host app.
  await app.register(async (routes) => {
    // Health routes answer while the process sheds load: an orchestrator must still see it alive.
    const config = { ...settings.routeConfig, pressureHandler: () => undefined }
    const noStore = (reply: FastifyReply) => reply.header('cache-control', 'no-store')

    routes.get(`${settings.prefix}/live`, {
      config,
      schema: {
        response: { 200: { type: 'object', properties: { status: { type: 'string' } }, required: ['status'] } }
      }
    }, async (_request, reply) => {
      noStore(reply)
      return { status: 'pass' }
    })

    const readiness = async (_request: FastifyRequest, reply: FastifyReply) => {
      noStore(reply)
      if (registry.draining) {
        reply.code(503)
        return registry.drainingReport()
      }
      const report = await registry.report()
      reply.code(report.status === 'unhealthy' ? 503 : 200)
      return report
    }
    routes.get(`${settings.prefix}/ready`, { config }, readiness)
    routes.get(settings.prefix, { config }, readiness)
  })
}

export const muejamHealth = fp(healthPlugin, { name: '@muejam/health', fastify: '>=5.12.0 <6' })
export default muejamHealth
