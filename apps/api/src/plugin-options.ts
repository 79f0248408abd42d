import type { AuthOptions } from '@muejam/auth'
import { loadDevelopmentIssuer } from '@muejam/auth'
import type { Config } from './config/index.js'
import type { HealthOptions } from '@muejam/health'
import type { RateLimitOptions, RouteRateLimit } from '@muejam/rate-limit'
import type { FastifyBaseLogger } from 'fastify'

/**
 * Token verification from the configuration. Without AUTH_ISSUER (development only: the
 * configuration refuses it in production) the API trusts only the development issuer.
 */
export async function authOptions (config: Config, log: FastifyBaseLogger): Promise<AuthOptions> {
  const common = {
    algorithms: [...config.AUTH_ALGORITHMS],
    audience: config.AUTH_AUDIENCE,
    authorizedParties: [...config.AUTH_AUTHORIZED_PARTIES],
    clockSkewMs: config.AUTH_CLOCK_SKEW_MS,
    jwksTtlMs: config.AUTH_JWKS_TTL_MS,
    jwksCooldownMs: config.AUTH_JWKS_COOLDOWN_MS,
    jwksTimeoutMs: config.AUTH_JWKS_TIMEOUT_MS
  }
  if (config.AUTH_ISSUER === undefined) {
    const development = await loadDevelopmentIssuer(config.DEV_KEYS_DIR)
    log.warn({ issuer: development.issuer, keys: config.DEV_KEYS_DIR }, 'no AUTH_ISSUER: trusting only the development issuer (pnpm token signs for it)')
    return { ...common, issuer: development.issuer, publicKey: development.publicKey }
  }
  return { ...common, issuer: config.AUTH_ISSUER, jwksUrl: config.AUTH_JWKS_URL, publicKey: config.AUTH_JWT_KEY }
}

/** Writes share a stricter per-user budget than reads: RATE_LIMIT_WRITE_MAX (30) a minute. */
export function writeLimit (config: Config): RouteRateLimit {
  return { name: 'writes', max: config.RATE_LIMIT_WRITE_MAX, maxAuthenticated: config.RATE_LIMIT_WRITE_MAX, windowMs: 60_000 }
}

/**
 * The longest a request waits for the rate-limit store, and for the moderator exemption
 * (a lookup not answered by then counts as "not exempt"), in ms.
 */
export const RATE_LIMIT_STORE_TIMEOUT_MS = 100

export function rateLimitOptions (config: Config): RateLimitOptions & { storeTimeoutMs: number } {
  return {
    redis: config.REDIS_URL,
    storeTimeoutMs: RATE_LIMIT_STORE_TIMEOUT_MS,
    max: config.RATE_LIMIT_MAX,
    maxAuthenticated: config.RATE_LIMIT_MAX_AUTHENTICATED,
    windowMs: config.RATE_LIMIT_WINDOW_MS,
    onStoreError: config.RATE_LIMIT_ON_STORE_ERROR,
    routeLimit: (route) => route.method === 'POST' ? writeLimit(config) : undefined
  }
}

/**
 * Each health check's timeout. A dependency that stops answering is seen within the
 * report's cache (1 s) plus this timeout; 750 ms keeps that under the 2 s readiness must
 * fail within, with room for the probe itself, and is still hundreds of times what a
 * healthy `select 1` or Redis `PING` takes.
 */
export const HEALTH_CHECK_TIMEOUT_MS = 750

export function healthOptions (config: Config, version: string): HealthOptions {
  return {
    version,
    checkTimeoutMs: HEALTH_CHECK_TIMEOUT_MS,
    diskPath: config.HEALTH_DISK_PATH,
    maxEventLoopDelayMs: config.HEALTH_MAX_EVENT_LOOP_DELAY_MS,
    maxHeapUsedBytes: config.HEALTH_MAX_HEAP_USED_BYTES,
    maxRssBytes: config.HEALTH_MAX_RSS_BYTES,
    // Probes are answered whatever Authorization header a gateway adds, and never limited.
    routeConfig: { auth: false, rateLimit: false }
  }
}
