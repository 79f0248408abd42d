import type { FastifyReply, FastifyRequest } from 'fastify'
import { PreconditionFailedError } from '../errors.js'
import { entityTag, evaluatePreconditions } from './entity-tag.js'

/**
 * A read of a representation whose tag is `tag` (see `entityTag`): sets the ETag, throws 412
 * when If-Match fails, and answers 304 without a body when If-None-Match matches, returning
 * true: the handler then returns `reply`.
 */
export function answeredNotModified (request: FastifyRequest, reply: FastifyReply, tag: string): boolean {
  const outcome = evaluatePreconditions(request.headers, request.method, tag)
  if (outcome === 'failed') throw new PreconditionFailedError()
  reply.header('etag', tag)
  if (outcome !== 'not_modified') return false
  // Nothing to serialize: Fastify then sends neither a body nor a Content-Length.
  reply.code(304).send(undefined)
  return true
}

/**
 * A write to the resource whose current representation is `representation`, read under its
 * row lock in the write's transaction: throws 412 unless the request's preconditions hold, so
 * of two writers holding the same tag only the first proceeds.
 */
export function requirePreconditions (request: FastifyRequest, representation: unknown): void {
  if (evaluatePreconditions(request.headers, request.method, entityTag(representation)) !== 'proceed') throw new PreconditionFailedError()
}
