import type { FastifyRequest } from 'fastify'

type Container = Record<string, unknown> | unknown[]

/**
 * Trims every string inside `root`, in place. A loop over a stack of containers, not
 * recursion: a body's depth is the client's choice, and 20,000 nested arrays fit in 40 KB.
 */
function trimStrings (root: Container): void {
  const pending: Container[] = [root]
  for (let container = pending.pop(); container !== undefined; container = pending.pop()) {
    const entries = container as Record<string, unknown>
    for (const key of Object.keys(entries)) {
      const value = entries[key]
      if (typeof value === 'string') entries[key] = value.trim()
      else if (value !== null && typeof value === 'object') pending.push(value as Container)
    }
  }
}

/**
 * preValidation hook: trims every string of a JSON body, so length limits apply to what
 * is stored and a title of spaces is as empty as a missing one.
 */
export async function trimBody (request: FastifyRequest): Promise<void> {
  if (request.body !== null && typeof request.body === 'object') trimStrings(request.body as Container)
}
