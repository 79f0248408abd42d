import { hash } from 'node:crypto'

/**
 * A strong entity tag for a representation: a SHA-256 of its JSON. Every field the client
 * sees is in it, so any change it can observe (a title, `updated_at`, an author's name, the
 * position a chapter moved to) changes the tag, and two writes in one millisecond still
 * differ. A GET and an If-Match check under the row lock compute it from the same row with
 * the same function, so they cannot disagree.
 */
export function entityTag (representation: unknown): string {
  return `"${hash('sha256', JSON.stringify(representation), 'base64url')}"`
}

interface ParsedTag {
  weak: boolean
  /** Between the quotes. */
  opaque: string
}

/** etagc: `!`, `#`…`~` and obs-text (Node hands header bytes over as latin1). */
const OPAQUE = /^[\x21\x23-\x7e\x80-\xff]*$/
const OWS = new Set([' ', '\t'])

/**
 * The entity tags of an If-Match or If-None-Match value: `*`, a list (empty elements
 * allowed, as in any list field), or null when it is neither.
 */
export function parseEntityTags (value: string): '*' | ParsedTag[] | null {
  if (value.trim() === '*') return '*'
  const tags: ParsedTag[] = []
  let at = 0
  const skip = (characters: (character: string) => boolean) => { while (at < value.length && characters(value[at] as string)) at++ }
  while (true) {
    skip((character) => OWS.has(character) || character === ',')
    if (at >= value.length) break
    const weak = value.startsWith('W/', at)
    if (weak) at += 2
    if (value[at] !== '"') return null
    const close = value.indexOf('"', at + 1)
    if (close === -1) return null
    const opaque = value.slice(at + 1, close)
    if (!OPAQUE.test(opaque)) return null
    tags.push({ weak, opaque })
    at = close + 1
    skip((character) => OWS.has(character))
    if (at < value.length && value[at] !== ',') return null
  }
  return tags.length === 0 ? null : tags
}

const opaqueOf = (tag: string) => tag.slice(tag.startsWith('W/') ? 3 : 1, -1)

/** If-Match: strong comparison; a value that is not `*` or a list of tags never matches. */
function ifMatchHolds (value: string, current: string): boolean {
  const tags = parseEntityTags(value)
  if (tags === '*') return true
  return tags !== null && tags.some((tag) => !tag.weak && tag.opaque === opaqueOf(current))
}

/** If-None-Match: weak comparison; null when the value cannot be read. */
function noneMatchMatches (value: string, current: string): boolean | null {
  const tags = parseEntityTags(value)
  if (tags === '*') return true
  return tags === null ? null : tags.some((tag) => tag.opaque === opaqueOf(current))
}

export type PreconditionOutcome = 'proceed' | 'not_modified' | 'failed'

export interface ConditionalHeaders {
  'if-match'?: string | undefined
  'if-none-match'?: string | undefined
}

/**
 * RFC 9110's evaluation order for a resource that exists, with tag `current`: If-Match first
 * (false: 412), then If-None-Match (matched: 304 for GET and HEAD, 412 for a write). A
 * malformed If-None-Match is ignored by a read, which then answers in full, and fails a
 * write, which never proceeds on a condition it could not read. The API sends no
 * Last-Modified, so the date conditions are never met and are not read.
 */
export function evaluatePreconditions (headers: ConditionalHeaders, method: string, current: string): PreconditionOutcome {
  const ifMatch = headers['if-match']
  if (ifMatch !== undefined && !ifMatchHolds(ifMatch, current)) return 'failed'
  const ifNoneMatch = headers['if-none-match']
  if (ifNoneMatch === undefined) return 'proceed'
  const read = method === 'GET' || method === 'HEAD'
  const matches = noneMatchMatches(ifNoneMatch, current)
  if (matches === null) return read ? 'proceed' : 'failed'
  if (!matches) return 'proceed'
  return read ? 'not_modified' : 'failed'
}
