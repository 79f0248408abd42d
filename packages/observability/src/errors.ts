import createError from '@fastify/error'

/** A registration option is missing, of the wrong type or out of range. */
export const InvalidOptionError = createError<'MUEJAM_OBSERVABILITY_INVALID_OPTION', [string, string]>(
  'MUEJAM_OBSERVABILITY_INVALID_OPTION',
  'Invalid @muejam/observability option "%s": %s'
)

/** What a client sees when it scrapes `/metrics` without the right bearer token. */
export class MetricsUnauthorizedError extends Error {
  readonly statusCode = 401
  readonly code = 'unauthenticated'
  readonly headers: Record<string, string>

  constructor (tokenSent: boolean) {
    super(tokenSent ? 'The metrics token is not valid.' : 'The metrics endpoint requires a bearer token.')
    this.name = 'MetricsUnauthorizedError'
    this.headers = {
      'www-authenticate': tokenSent ? 'Bearer realm="metrics", error="invalid_token"' : 'Bearer realm="metrics"'
    }
  }
}
