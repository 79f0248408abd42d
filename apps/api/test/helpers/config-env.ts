import { generateKeyPairSync } from 'node:crypto'

export const STRONG_SECRET_KEY = 'Zq8vN3kLw0pR7tYb2mXc5fHj9sGd4aEu6iOy1nVbTr3Kx8WqP0LmZc'
export const STRONG_METRICS_TOKEN = 'mT4kR9vX2bN7qL1wZ8cP5yH3jF6sD0gA'

/** A complete, valid production environment; each test changes one thing. */
export function productionEnv (overrides: Record<string, string | undefined> = {}): Record<string, string | undefined> {
  return {
    NODE_ENV: 'production',
    SECRET_KEY: STRONG_SECRET_KEY,
    SENTRY_DSN: 'https://abc123@o1.ingest.sentry.io/42',
    METRICS_TOKEN: STRONG_METRICS_TOKEN,
    DATABASE_URL: 'postgres://muejam:Kq7wP2vR9xZ4@db.internal:5432/muejam',
    REDIS_URL: 'redis://:Hy6tB3nM8cV1@cache.internal:6379',
    AUTH_ISSUER: 'https://clerk.muejam.example.org',
    PUBLIC_URL: 'https://api.muejam.example.org',
    ...overrides
  }
}

export function publicKeyPem (): { publicKey: string, privateKey: string } {
  const { publicKey, privateKey } = generateKeyPairSync('rsa', { modulusLength: 2048 })
  return {
    publicKey: publicKey.export({ type: 'spki', format: 'pem' }).toString(),
    privateKey: privateKey.export({ type: 'pkcs8', format: 'pem' }).toString()
  }
}
