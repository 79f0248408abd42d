import { randomUUID } from 'node:crypto'
import type { IncomingMessage } from 'node:http'

/** What a caller's X-Request-Id must look like to be kept: short, printable, no separators. */
export const SANE_REQUEST_ID = /^[A-Za-z0-9._-]{1,128}$/

/**
 * For Fastify's `genReqId`: keeps a caller's X-Request-Id only when it is a sane token, so a
 * forged id cannot inject lines into logs or headers; anything else gets a new random UUID.
 */
export function requestIdFrom (request: IncomingMessage): string {
  const incoming = request.headers['x-request-id']
  return typeof incoming === 'string' && SANE_REQUEST_ID.test(incoming) ? incoming : randomUUID()
}
