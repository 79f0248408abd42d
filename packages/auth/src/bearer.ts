/**
 * The credentials of an `Authorization: Bearer <token>` header (RFC 6750 §2.1; the scheme is
 * case-insensitive, RFC 9110 §11.1). Returns `''` for a Bearer header without a token (a
 * malformed token), and `undefined` for any other scheme, which is not ours to judge: such a
 * request counts as one without a bearer token (RFC 6750 §3.1).
 */
export function bearerToken (header: string): string | undefined {
  // The common spelling first: no lower-casing or trimming on the hot path.
  if (header.startsWith('Bearer ') && header.charCodeAt(7) !== 32) return header.slice(7)
  if (header.length < 6 || header.slice(0, 6).toLowerCase() !== 'bearer') return undefined
  if (header.length === 6) return ''
  const separator = header.charCodeAt(6)
  if (separator !== 32 && separator !== 9) return undefined
  return header.slice(7).trim()
}
