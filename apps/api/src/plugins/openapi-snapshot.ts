import { generateKeyPairSync } from 'node:crypto'
import { SecretRedactor } from '@muejam/observability'
import Fastify from 'fastify'
import app from '../app.js'
import { loadApiConfig } from '../config/index.js'
import { serverOptions } from '../server-options.js'

/** The server the committed document names; a deployment's document names its PUBLIC_URL. */
export const SNAPSHOT_PUBLIC_URL = 'http://127.0.0.1:3000'

/**
 * The OpenAPI document of the API as built, read through `inject`: no socket, and no
 * database or Redis (neither is reached before the first request that needs it).
 */
export async function openapiSnapshot (): Promise<unknown> {
  const { publicKey } = generateKeyPairSync('rsa', { modulusLength: 2048 })
  const store = await loadApiConfig({
    NODE_ENV: 'test',
    LOG_LEVEL: 'silent',
    PUBLIC_URL: SNAPSHOT_PUBLIC_URL,
    DATABASE_URL: 'postgres://openapi@127.0.0.1:1/openapi',
    MIGRATE_ON_START: 'false',
    AUTH_ISSUER: 'https://issuer.invalid',
    AUTH_JWT_KEY: publicKey.export({ type: 'spki', format: 'pem' }).toString()
  })
  const secrets = new SecretRedactor([])
  const server = Fastify(serverOptions(store.config, secrets))
  try {
    await server.register(app, { store, secrets })
    const response = await server.inject('/docs/openapi.json')
    if (response.statusCode !== 200) throw new Error(`GET /docs/openapi.json answered ${response.statusCode}: ${response.body}`)
    return response.json()
  } finally {
    await server.close()
    store.close()
  }
}
