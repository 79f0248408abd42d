import type { FastifyRequest } from 'fastify'

function trimmed (value: unknown): unknown {
  if (typeof value === 'string') return value.trim()
  if (Array.isArray(value)) return value.map(trimmed)
  if (value !== null && typeof value === 'object') {
    return Object.fromEntries(Object.entries(value).map(([key, inner]) => [key, trimmed(inner)]))
  }
  return value
}

/**
 * preValidation hook: trims every string of a JSON body, so length limits apply to what
 * is stored and a title of spaces is as empty as a missing one.
 */
export async function trimBody (request: FastifyRequest): Promise<void> {
  if (request.body !== null && typeof request.body === 'object') request.body = trimmed(request.body)
}
