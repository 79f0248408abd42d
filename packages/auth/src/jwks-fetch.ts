/** A JWKS answer larger than this is refused: real sets hold a handful of keys (a few KiB). */
export const MAX_JWKS_BYTES = 256 * 1024

const JSON_TYPE = /^application\/(?:[\w.+-]+\+)?json\s*(?:;|$)/i

/** Why a fetch of the key set failed; the message never contains a token. */
export class JwksFetchError extends Error {
  constructor (message: string) {
    super(message)
    this.name = 'JwksFetchError'
  }
}

async function readText (response: Response, maxBytes: number): Promise<string> {
  const declared = Number(response.headers.get('content-length'))
  if (declared > maxBytes) {
    await response.body?.cancel()
    throw new JwksFetchError(`the answer is larger than ${maxBytes} bytes`)
  }
  const chunks: Uint8Array[] = []
  let size = 0
  // A body without content-length is counted as it streams, so a huge answer is cut early.
  for await (const chunk of response.body as AsyncIterable<Uint8Array>) {
    size += chunk.byteLength
    if (size > maxBytes) throw new JwksFetchError(`the answer is larger than ${maxBytes} bytes`)
    chunks.push(chunk)
  }
  return Buffer.concat(chunks).toString('utf8')
}

/**
 * Fetches a JWK set from the configured URL and returns its `keys`. Unlike a plain `fetch`, it
 * gives up after `timeoutMs` (the body included), never follows a redirect (a redirect could
 * lead to keys of an attacker's choosing), and accepts only a 200 JSON answer with a `keys` array.
 * `signal` aborts it early (the plugin closing).
 */
export async function fetchJwks (url: string, timeoutMs: number, signal: AbortSignal): Promise<unknown[]> {
  const timeout = AbortSignal.timeout(timeoutMs)
  let response: Response
  try {
    response = await fetch(url, {
      redirect: 'manual',
      signal: AbortSignal.any([timeout, signal]),
      headers: { accept: 'application/jwk-set+json, application/json' }
    })
  } catch (error) {
    throw new JwksFetchError(timeout.aborted ? `no answer within ${timeoutMs} ms` : `request failed (${causeOf(error)})`)
  }
  try {
    if (response.status !== 200) {
      const redirect = response.status >= 300 && response.status < 400
      throw new JwksFetchError(`answered ${response.status}${redirect ? ' (redirects are not followed)' : ''}`)
    }
    if (!JSON_TYPE.test(response.headers.get('content-type') ?? '')) {
      throw new JwksFetchError(`answered ${response.headers.get('content-type') ?? 'no content type'}, not JSON`)
    }
    const text = await readText(response, MAX_JWKS_BYTES)
    let body: unknown
    try {
      body = JSON.parse(text)
    } catch {
      throw new JwksFetchError('answered a body that is not JSON')
    }
    const keys = (body as { keys?: unknown } | null)?.keys
    if (!Array.isArray(keys)) throw new JwksFetchError('answered JSON without a "keys" array')
    return keys
  } catch (error) {
    await response.body?.cancel().catch(() => {})
    if (error instanceof JwksFetchError) throw error
    throw new JwksFetchError(timeout.aborted ? `no complete answer within ${timeoutMs} ms` : `reading the answer failed (${causeOf(error)})`)
  }
}

/** undici wraps the socket error: its code (ECONNREFUSED, UND_ERR_SOCKET…) says more than "fetch failed". */
function causeOf (error: unknown): string {
  const code = (error as { cause?: { code?: unknown } }).cause?.code
  return typeof code === 'string' ? code : (error as Error).message
}
