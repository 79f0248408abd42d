import type { FastifyRequest } from 'fastify'

/**
 * One structured audit line (SPEC §9): `audit: true`, event, actor, target, outcome and
 * the request id, so security-relevant events can be filtered out of the log stream.
 */
export function audit (request: FastifyRequest, event: string, actor: string, target: string, message: string): void {
  request.log.info({ audit: true, event, actor, target, outcome: 'success', request_id: request.id }, message)
}
