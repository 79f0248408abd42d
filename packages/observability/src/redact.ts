/** What replaces a secret, a token or a redacted header. */
export const REDACTED = '[redacted]'

/**
 * Shorter values are not scrubbed: replacing every occurrence of a 3-letter word would wreck
 * the logs while protecting nothing (such a value is not a secret worth the name).
 */
export const MIN_SECRET_LENGTH = 6

// A JWS in compact form: base64url header (always `{"` → `eyJ`), payload, optional signature.
const JWT = /eyJ[\w-]{4,}\.[\w-]{4,}\.[\w-]*/g
// An RFC 6750 credential quoted in a message; short words ("Bearer realm") are not credentials.
const BEARER = /\b(bearer)\s+[^\s"'\\,;]{16,}/gi

/**
 * Removes secret values, JWTs and bearer credentials from text (a log line, an error report).
 * Each configured secret is also matched in its JSON-escaped and URL-encoded forms, the ways
 * it shows up inside a serialized log line or a connection string. Values added later (a
 * rotated secret) are scrubbed from then on; old ones stay scrubbed.
 */
export class SecretRedactor {
  #needles: string[] = []

  constructor (secrets: Iterable<string> = []) {
    for (const secret of secrets) this.add(secret)
  }

  /** Starts scrubbing one more value. Values shorter than MIN_SECRET_LENGTH are ignored. */
  add (secret: string): void {
    if (typeof secret !== 'string' || secret.length < MIN_SECRET_LENGTH) return
    for (const form of [secret, JSON.stringify(secret).slice(1, -1), encodeURIComponent(secret)]) {
      if (!this.#needles.includes(form)) this.#needles.push(form)
    }
    // Longest first, so a connection string is replaced whole before the password inside it.
    this.#needles.sort((a, b) => b.length - a.length)
  }

  /** How many forms (raw, escaped, encoded) are being looked for. */
  get size (): number {
    return this.#needles.length
  }

  redact (text: string): string {
    let out = text
    for (const needle of this.#needles) {
      if (out.includes(needle)) out = out.replaceAll(needle, REDACTED)
    }
    // Cheap literal scans first: most lines hold neither a JWT nor a bearer credential.
    if (out.includes('eyJ')) out = out.replace(JWT, REDACTED)
    if (out.includes('earer') || out.includes('EARER')) out = out.replace(BEARER, `$1 ${REDACTED}`)
    return out
  }
}

/** Redacts every string inside a JSON-like value in place (for error reports); returns it. */
export function redactDeep<T> (value: T, redactor: SecretRedactor, depth = 0): T {
  if (depth > 32 || value === null || typeof value !== 'object') return value
  const record = value as Record<string, unknown>
  for (const key of Object.keys(record)) {
    const item = record[key]
    if (typeof item === 'string') record[key] = redactor.redact(item)
    else if (item !== null && typeof item === 'object') redactDeep(item, redactor, depth + 1)
  }
  return value
}
