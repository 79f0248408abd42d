import { setTimeout as sleep } from 'node:timers/promises'
import { ConfigError } from '@muejam/config'
import { captureCrash, SecretRedactor } from '@muejam/observability'
import closeWithGrace from 'close-with-grace'
import Fastify from 'fastify'
import muejamTracing, { startTracingIfRequested, withTraceLogFields } from '@muejam/tracing'
import { withEnvFile, type EnvWithFile } from './config/env-file.js'
import { loadApiConfig, type ConfigStore } from './config/index.js'

// Tracing starts before any module that reaches pg or ioredis is loaded (those are imported
// below, not above), so that both are instrumented as they are imported; with no OTEL_*
// variable asking for it, nothing of OpenTelemetry is loaded. test/tracing.test.ts checks both.
await startTracingIfRequested({ serviceName: 'muejam-api' })
const { default: app } = await import('./app.js')
const { secretValues, serverOptions } = await import('./server-options.js')

async function loadOrExit (): Promise<{ store: ConfigStore, envFile: EnvWithFile }> {
  try {
    const envFile = await withEnvFile(process.env)
    return { store: await loadApiConfig(envFile.env), envFile }
  } catch (error) {
    if (!(error instanceof ConfigError)) throw error
    process.stderr.write(`${error.message}\n`)
    process.exit(error.exitCode)
  }
}

const { store, envFile } = await loadOrExit()
const config = store.config
const secrets = new SecretRedactor(secretValues(config))
const server = Fastify(withTraceLogFields(serverOptions(config, secrets)))
if (envFile.file !== undefined) server.log.info({ event: 'env_file.loaded', file: envFile.file, variables: envFile.loaded }, `read ${envFile.loaded.length} variables from ${envFile.file}`)

/** Time kept at the end of SHUTDOWN_TIMEOUT_MS to cancel the queries of cut requests. */
const cancelGraceMs = Math.min(1000, Math.floor(config.SHUTDOWN_TIMEOUT_MS / 4))

class ShutdownTimeoutError extends Error {
  constructor () {
    super(`in-flight requests did not finish within SHUTDOWN_TIMEOUT_MS (${config.SHUTDOWN_TIMEOUT_MS} ms): they were cut`)
  }
}

// SIGTERM/SIGINT: readiness fails at once so load balancers stop sending; after the drain
// the server stops accepting, finishes in-flight requests and closes pools and Redis. When
// in-flight requests outlast SHUTDOWN_TIMEOUT_MS, their connections are cut shortly before
// it, which aborts their signals, so their queries are cancelled in PostgreSQL rather than
// left running (a write would still land after the process is gone); then the process exits
// 1, by SHUTDOWN_TIMEOUT_MS at the latest. A second signal exits 1 at once.
closeWithGrace({ delay: config.SHUTDOWN_TIMEOUT_MS, logger: server.log }, async ({ signal, err }) => {
  if (err) {
    server.log.fatal({ err }, 'crashed; shutting down')
    await captureCrash(err)
  } else {
    server.log.info({ signal, drain_ms: config.SHUTDOWN_DRAIN_MS }, 'shutting down')
  }
  let cut = false
  const cutTimer = setTimeout(() => {
    cut = true
    server.log.error({ timeout_ms: config.SHUTDOWN_TIMEOUT_MS }, 'shutdown timed out: cutting in-flight requests')
    server.server.closeAllConnections()
  }, config.SHUTDOWN_TIMEOUT_MS - cancelGraceMs)
  if (server.hasDecorator('health')) server.health.startDraining()
  if (!err && config.SHUTDOWN_DRAIN_MS > 0) await sleep(config.SHUTDOWN_DRAIN_MS)
  await server.close()
  clearTimeout(cutTimer)
  if (cut) throw new ShutdownTimeoutError()
  server.log.info('closed')
})

await server.register(muejamTracing)
await server.register(app, { store, secrets })
// A backlog above Node's 511, so a burst of new connections is queued rather than dropped
// (a dropped SYN costs the client a 1 s retransmit); the kernel caps it at somaxconn.
await server.listen({ host: config.HOST, port: config.PORT, backlog: 4096 })
