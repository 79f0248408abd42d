import type { FastifyInstance } from 'fastify'
import fp from 'fastify-plugin'
import { BodyTooDeepError } from '../errors.js'

/** Far deeper than any request schema goes (three levels), far shallower than costs anything. */
export const MAX_JSON_DEPTH = 32

const QUOTE = 0x22
const BACKSLASH = 0x5c

function closingQuote (text: string, from: number): number {
  let end = text.indexOf('"', from)
  while (end !== -1) {
    let backslashes = 0
    while (text.charCodeAt(end - 1 - backslashes) === BACKSLASH) backslashes++
    if (backslashes % 2 === 0) return end
    end = text.indexOf('"', end + 1)
  }
  return text.length
}

/** Whether arrays and objects in `text` nest deeper than `limit`; brackets inside strings don't count. */
export function nestsDeeperThan (text: string, limit: number): boolean {
  let depth = 0
  for (let index = 0; index < text.length; index++) {
    const char = text.charCodeAt(index)
    if (char === QUOTE) index = closingQuote(text, index + 1)
    else if (char === 0x5b || char === 0x7b) { if (++depth > limit) return true } else if (char === 0x5d || char === 0x7d) depth--
  }
  return false
}

/**
 * JSON bodies through Fastify's own parser, after a linear scan that refuses deep nesting:
 * V8 parses a megabyte of nested arrays about 70 times slower than a flat megabyte, so a few
 * such bodies a second would occupy a core.
 */
async function jsonDepth (app: FastifyInstance, { maxDepth = MAX_JSON_DEPTH }: { maxDepth?: number }) {
  const parse = app.getDefaultJsonParser('error', 'error')
  app.addContentTypeParser('application/json', { parseAs: 'string' }, (request, body, done) => {
    const text = body as string
    if (nestsDeeperThan(text, maxDepth)) {
      done(new BodyTooDeepError(maxDepth), undefined)
      return
    }
    parse(request, text, done)
  })
}

export default fp(jsonDepth, { name: 'muejam-api-json-depth', fastify: '>=5.12.0 <6' })
