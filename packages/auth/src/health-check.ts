import type { CheckDetails } from '@muejam/health'
import type { FastifyInstance } from 'fastify'
import type { KeySource } from './key-store.js'

/** The name of the check in `@muejam/health`'s report. */
export const HEALTH_CHECK_NAME = 'auth_keys'

/**
 * Adds the non-critical `auth_keys` check to `app.health` when `@muejam/health` is registered,
 * before or after this plugin: by `onReady` every plugin has registered its decorators.
 */
export function addKeysHealthCheck (app: FastifyInstance, keys: KeySource): void {
  app.addHook('onReady', async () => {
    if (!app.hasDecorator('health')) return
    app.health.addCheck(HEALTH_CHECK_NAME, (): CheckDetails => {
      const { source, keys: count, lastFetchOk, breaker } = keys.state
      return { status: lastFetchOk === false ? 'degraded' : 'healthy', source, keys: count, ...(breaker === null ? {} : { breaker }) }
    }, { critical: false })
  })
}
