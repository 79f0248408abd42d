import { randomBytes } from 'node:crypto'
import { boolean, integer, list, oneOf, port, secret, string, url } from '../../src/index.js'

/** A small service of its own, nothing to do with muejam: what the tests describe. */
export const serviceSchema = {
  MODE: oneOf(['read-write', 'read-only'], { default: 'read-write', description: 'whether writes are accepted', fix: 'read-write or read-only' }),
  PORT: port({ default: 8080, devDefault: 3000, description: 'listen port', fix: 'e.g. 8080' }),
  DATABASE_URL: url({ protocols: ['postgres:', 'postgresql:'], devDefault: undefined, secret: true, description: 'primary database', fix: 'e.g. postgres://app:pw@db/app' }),
  API_KEY: secret({ minLength: 40, devDefault: () => randomBytes(30).toString('base64url'), description: 'key partners send in x-api-key' }),
  FEATURES: list({ of: oneOf(['search', 'export', 'beta']), default: [], description: 'features switched on' }),
  VERBOSE: boolean({ default: false, description: 'log request bodies', production: (on) => on ? 'is true; request bodies may hold personal data' : undefined }),
  WORKERS: integer({ min: 1, max: 64, default: 4, description: 'worker threads' }),
  GREETING: string({ default: undefined, description: 'banner printed at start' })
}

export const STRONG_API_KEY = 'Zq8vN3kLw0pR7tYb2mXc5fHj9sGd4aEu6iOy1nVbTr3Kx8Wq'

/** A complete, valid production environment for the service; each test changes one thing. */
export function productionEnv (overrides: Record<string, string | undefined> = {}): Record<string, string | undefined> {
  return {
    NODE_ENV: 'production',
    DATABASE_URL: 'postgres://app:Kq7wP2vR9xZ4@db.internal:5432/app',
    API_KEY: STRONG_API_KEY,
    ...overrides
  }
}
