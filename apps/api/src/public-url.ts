/**
 * An absolute URL on `origin` (PUBLIC_URL) for a request target, for `Location` headers. The
 * client's Host and X-Forwarded-Host play no part, and the target is parsed after it is
 * appended, so `//evil.example/x` stays a path on `origin`. A target that is not a path
 * (absolute-form, `*`) leads to the origin's root.
 */
export function absoluteUrl (origin: string, target: string): string {
  const url = new URL(target.startsWith('/') ? `${origin}${target}` : `${origin}/`)
  return url.origin === origin ? url.href : `${origin}/`
}
