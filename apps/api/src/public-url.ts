/**
 * An absolute URL on `origin` (PUBLIC_URL) for a request target, for `Location` headers. The
 * client's Host and X-Forwarded-Host play no part. The target is parsed only after it is
 * appended to the origin, whose authority it can then no longer change: `//evil.example/x`
 * stays a path. A target that is not a path (absolute-form, `*`) leads to the origin's root.
 */
export function absoluteUrl (origin: string, target: string): string {
  return new URL(target.startsWith('/') ? `${origin}${target}` : `${origin}/`).href
}
