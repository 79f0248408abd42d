import { createPublicKey, type KeyObject } from 'node:crypto'
import type { FastifyInstance, FastifyReply, FastifyRequest, HookHandlerDoneFunction } from 'fastify'
import fp from 'fastify-plugin'
import { Authenticator, type AuthContext } from './authenticator.js'
import { bearerToken } from './bearer.js'
import {
  authError,
  FAILURE_REASONS,
  InvalidKeyError,
  InvalidRouteConfigError,
  TokenRejection,
  type AuthError,
  type FailureReason
} from './errors.js'
import { addFailureMetric } from './failure-metric.js'
import { addKeysHealthCheck } from './health-check.js'
import { addJwksFetchMetrics } from './jwks-fetch-metrics.js'
import { JwksKeySource, StaticKeySource, type KeySource, type KeySourceState } from './key-store.js'
import { resolveSettings, type AuthMode, type AuthOptions, type AuthSettings } from './options.js'
import { createVerificationKey } from './verification-key.js'

export type { AuthContext } from './authenticator.js'
export {
  DEVELOPMENT_ISSUER,
  loadDevelopmentIssuer,
  type DevelopmentIssuer,
  type DevelopmentSignOptions,
  type DevelopmentTokenClaims
} from './development-issuer.js'
export {
  AlgorithmRefusedError,
  FAILURE_REASONS,
  InvalidKeyError,
  InvalidOptionError,
  InvalidRouteConfigError,
  isAuthError,
  type AuthError,
  type FailureReason
} from './errors.js'
export type { KeySourceState } from './key-store.js'
export { CLAIM_POLICIES, type AuthMode, type AuthOptions, type ClaimPolicy } from './options.js'
export { FAILURE_METRIC_NAME } from './failure-metric.js'
export { HEALTH_CHECK_NAME } from './health-check.js'
export { JWKS_FETCH_FAILURES_METRIC_NAME, JWKS_FETCHES_METRIC_NAME } from './jwks-fetch-metrics.js'
export { CLERK_SESSION_CATEGORY, MAX_TOKEN_BYTES } from './token-checks.js'
export { SUPPORTED_ALGORITHMS } from './verification-key.js'

/**
 * Plain numbers, read on demand (a public read API; the plugin registers its own metric with
 * `app.metrics`, so nothing needs to poll these).
 */
export interface AuthStats {
  /** Refused requests by reason; every reason is present from the start, at 0. */
  readonly failures: Record<FailureReason, number>
  /** Requests answered from the verified-token cache. */
  readonly cacheHits: number
  /** Tokens fully verified (signature included). */
  readonly verified: number
  /** Tokens in the verified-token cache. */
  readonly cachedTokens: number
  /** The key source: JWKS fetches, failures, keys held. */
  readonly keys: Readonly<KeySourceState>
}

/** The `app.auth` decorator. */
export interface AuthDecorator {
  readonly issuer: string
  readonly stats: AuthStats
  /**
   * Verifies a token outside an HTTP request (e.g. a WebSocket handshake), with the same rules
   * and cache. Rejects with an AuthError (401, or 503 when no key can be had).
   */
  verify (token: string): Promise<AuthContext>
}

declare module 'fastify' {
  interface FastifyInstance {
    auth: AuthDecorator
  }
  interface FastifyRequest {
    /** The verified caller, or `null` when no token was sent (optional routes) or the route opts out. */
    auth: AuthContext | null
  }
  interface FastifyContextConfig {
    /**
     * `'required'`: 401 without a valid token. `'optional'`: a valid token sets `request.auth`,
     * none leaves it `null`, an invalid one is still a 401. `false`: the route ignores the
     * Authorization header entirely (e.g. `/metrics` with its own bearer token, health probes).
     * Default: the plugin's `defaultMode`.
     */
    auth?: AuthMode | false
  }
}

function keySourceFor (settings: AuthSettings, app: FastifyInstance): KeySource {
  if (settings.publicKey === undefined) {
    return new JwksKeySource({
      jwksUrl: settings.jwksUrl as string,
      algorithms: settings.algorithms,
      ttlMs: settings.jwksTtlMs,
      cooldownMs: settings.jwksCooldownMs,
      timeoutMs: settings.jwksTimeoutMs,
      maxStaleMs: settings.jwksMaxStaleMs,
      breakerFailureThreshold: settings.jwksBreakerFailureThreshold,
      breakerCoolOffMs: settings.jwksBreakerCoolOffMs,
      log: app.log
    })
  }
  if (settings.publicKey.includes('PRIVATE KEY')) {
    throw new InvalidKeyError('it is a private key; give the public key only (the private key must never reach the API)')
  }
  let key: KeyObject
  try {
    key = createPublicKey(settings.publicKey)
  } catch {
    throw new InvalidKeyError('it is not a PEM public key (-----BEGIN PUBLIC KEY-----)')
  }
  const verificationKey = createVerificationKey(key, settings.algorithms, undefined)
  if (typeof verificationKey === 'string') throw new InvalidKeyError(verificationKey)
  return new StaticKeySource(verificationKey)
}

async function authPlugin (app: FastifyInstance, options: AuthOptions) {
  const settings = resolveSettings(options)
  const keys = keySourceFor(settings, app)
  const authenticator = new Authenticator(settings, keys)
  const failures = Object.fromEntries(FAILURE_REASONS.map((reason) => [reason, 0])) as Record<FailureReason, number>
  const { defaultMode, realm, onFailure } = settings

  const stats: AuthStats = Object.defineProperties({ failures, keys: keys.state } as unknown as AuthStats, {
    cacheHits: { enumerable: true, get: () => authenticator.counts.cacheHits },
    verified: { enumerable: true, get: () => authenticator.counts.verified },
    cachedTokens: { enumerable: true, get: () => authenticator.cacheSize }
  })

  function toClientError (error: unknown, tokenSent: boolean): AuthError {
    // Anything but a TokenRejection is a defect; it goes on as a 500 through the host's handler.
    /* c8 ignore next */
    if (!(error instanceof TokenRejection)) throw error
    return authError(error, realm, tokenSent)
  }

  function refuse (request: FastifyRequest, reply: FastifyReply, error: unknown, tokenSent: boolean, done: HookHandlerDoneFunction) {
    let clientError: AuthError
    try {
      clientError = toClientError(error, tokenSent)
    /* c8 ignore start -- every refusal is a TokenRejection; this keeps a future defect a plain 500 */
    } catch (defect) {
      done(defect as Error)
      return
    }
    /* c8 ignore stop */
    failures[clientError.code]++
    const pending = tellFailure(request, clientError.code, reply)
    if (pending === undefined) done(clientError)
    else pending.then(() => done(clientError), (replacement: Error) => done(replacement))
  }

  /** Calls onFailure; returns the promise it returned, if any. A throw is logged. */
  function tellFailure (request: FastifyRequest, reason: FailureReason, reply: FastifyReply): Promise<void> | undefined {
    if (onFailure === undefined) return undefined
    try {
      const result = onFailure(request, reason, reply)
      return result instanceof Promise ? result : undefined
    } catch (hookError) {
      request.log.error({ err: hookError }, '@muejam/auth onFailure threw')
      return undefined
    }
  }

  app.decorateRequest('auth', null)
  app.decorate('auth', {
    issuer: settings.issuer,
    stats,
    async verify (token: string): Promise<AuthContext> {
      try {
        return await authenticator.authenticate(token)
      } catch (error) {
        throw toClientError(error, true)
      }
    }
  } satisfies AuthDecorator)

  app.addHook('onRoute', (route) => {
    const mode = route.config?.auth
    if (mode !== undefined && mode !== 'required' && mode !== 'optional' && mode !== false) {
      throw new InvalidRouteConfigError(`${String(route.method)} ${route.url}`, 'must be "required", "optional" or false')
    }
  })

  // onRequest, so hooks registered later (the rate limiter keying by user) see request.auth.
  // Callback style: a cache hit finishes synchronously, without a promise per request.
  app.addHook('onRequest', function authenticate (request: FastifyRequest, reply: FastifyReply, done: HookHandlerDoneFunction) {
    const mode = request.routeOptions.config?.auth ?? defaultMode
    if (mode === false) {
      done()
      return
    }
    const authorization = request.headers.authorization
    const token = authorization === undefined ? undefined : bearerToken(authorization)
    if (token === undefined) {
      if (mode === 'required') refuse(request, reply, new TokenRejection('unauthenticated'), false, done)
      else done()
      return
    }
    let result: AuthContext | Promise<AuthContext>
    try {
      result = authenticator.authenticate(token)
    } catch (error) {
      refuse(request, reply, error, true, done)
      return
    }
    if (result instanceof Promise) {
      result.then((auth) => {
        request.auth = auth
        done()
      }, (error: unknown) => refuse(request, reply, error, true, done))
      return
    }
    request.auth = result
    done()
  })

  addKeysHealthCheck(app, keys)
  addFailureMetric(app, failures)
  addJwksFetchMetrics(app, keys)

  app.addHook('onClose', async () => {
    keys.close()
  })
}

/** Bearer-token authentication against a JWKS or a PEM key; the README lists every check. */
export const muejamAuth = fp(authPlugin, { name: '@muejam/auth', fastify: '>=5.12.0 <6' })
export default muejamAuth
