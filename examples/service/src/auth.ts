import type { FastifyInstance } from 'fastify'
import auth from '@muejam/auth'

/**
 * Bearer access tokens from any OIDC issuer (RFC 9068 `at+jwt` included): `iss`, `aud`,
 * `sub` and `exp` checked, keys fetched from the issuer's JWKS. A refused token gets a 401
 * naming the claim at fault. Register before the routes and before the rate limiter.
 */
export async function registerAuth (app: FastifyInstance) {
  await app.register(auth, {
    claims: 'oidc',
    issuer: app.config.OIDC_ISSUER,
    audience: app.config.OIDC_AUDIENCE,
    ...(app.config.OIDC_JWKS_URL === undefined ? {} : { jwksUrl: app.config.OIDC_JWKS_URL })
  })
}
