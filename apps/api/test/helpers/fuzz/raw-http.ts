import { connect } from 'node:net'

/*
 * HTTP/1.1 written byte for byte on a fresh socket, for what an HTTP client refuses to send:
 * lowercase and unknown methods, raw bytes in the request line, duplicate or conflicting
 * headers, a body under any content type. Each request carries `connection: close`, so the
 * response is everything the server writes until it closes.
 */

export interface RawRequest {
  method: string
  /** The request-target as sent; a character above U+00FF is sent as its UTF-8 bytes. */
  target: string
  /** In order, duplicates kept (send `host` here). `content-length` and `connection: close` are added unless present. */
  headers: Array<[string, string]>
  body?: Buffer
}

export interface RawResponse {
  status: number
  /** Lowercased names; a repeated header keeps every value. */
  headers: Map<string, string[]>
  body: Buffer
}

const HEAD_END = Buffer.from('\r\n\r\n')

function encodeTarget (target: string): string {
  return [...target].some((char) => char.charCodeAt(0) > 0xff) ? Buffer.from(target, 'utf8').toString('latin1') : target
}

/** The bytes of `request` as written to the socket. */
export function serialize (request: RawRequest): Buffer {
  const names = new Set(request.headers.map(([name]) => name.toLowerCase()))
  const headers: Array<[string, string]> = [...request.headers]
  if (!names.has('content-length') && !names.has('transfer-encoding') && request.body !== undefined) {
    headers.push(['content-length', String(request.body.length)])
  }
  if (!names.has('connection')) headers.push(['connection', 'close'])
  const head = `${request.method} ${encodeTarget(request.target)} HTTP/1.1\r\n${headers.map(([name, value]) => `${name}: ${value}\r\n`).join('')}\r\n`
  return Buffer.concat([Buffer.from(head, 'latin1'), request.body ?? Buffer.alloc(0)])
}

function dechunk (body: Buffer): Buffer {
  const parts: Buffer[] = []
  let at = 0
  while (at < body.length) {
    const lineEnd = body.indexOf('\r\n', at)
    if (lineEnd === -1) break
    const size = Number.parseInt(body.subarray(at, lineEnd).toString('latin1'), 16)
    if (!Number.isFinite(size) || size === 0) break
    parts.push(body.subarray(lineEnd + 2, lineEnd + 2 + size))
    at = lineEnd + 2 + size + 2
  }
  return Buffer.concat(parts)
}

/** Parses the first final (not 1xx) response in `bytes`; null while its head is incomplete. */
export function parseResponse (bytes: Buffer, method: string): RawResponse | null {
  const headEnd = bytes.indexOf(HEAD_END)
  if (headEnd === -1) return null
  const [statusLine = '', ...lines] = bytes.subarray(0, headEnd).toString('latin1').split('\r\n')
  const status = Number(/^HTTP\/1\.[01] (\d{3})/.exec(statusLine)?.[1] ?? Number.NaN)
  if (!Number.isInteger(status)) throw new Error(`not an HTTP response: ${JSON.stringify(statusLine)}`)
  // 100 Continue (an `expect` header) comes before the answer.
  if (status < 200) return parseResponse(bytes.subarray(headEnd + HEAD_END.length), method)
  const headers = new Map<string, string[]>()
  for (const line of lines) {
    const colon = line.indexOf(':')
    const name = line.slice(0, colon).trim().toLowerCase()
    headers.set(name, [...headers.get(name) ?? [], line.slice(colon + 1).trim()])
  }
  let body = bytes.subarray(headEnd + HEAD_END.length)
  const length = headers.get('content-length')?.[0]
  if (method.toUpperCase() === 'HEAD' || status === 204 || status === 304) body = Buffer.alloc(0)
  else if (headers.get('transfer-encoding')?.[0]?.toLowerCase() === 'chunked') body = dechunk(body)
  else if (length !== undefined) body = body.subarray(0, Number(length))
  return { status, headers, body }
}

export class NoResponseError extends Error {}

/**
 * Sends `request` to 127.0.0.1:`port` and resolves with the server's answer. A reset after
 * the answer arrived (the server refusing a body before reading it) still yields the answer.
 */
export function sendRaw (port: number, request: RawRequest, timeoutMs: number): Promise<RawResponse> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = []
    const socket = connect({ host: '127.0.0.1', port })
    let settled = false
    const settle = (error?: Error) => {
      if (settled) return
      settled = true
      socket.destroy()
      const received = Buffer.concat(chunks)
      let response: RawResponse | null = null
      try {
        response = parseResponse(received, request.method)
      } catch (parseError) {
        return reject(parseError)
      }
      if (response !== null) return resolve(response)
      reject(new NoResponseError(`${error?.message ?? 'the server closed the connection'} before a response arrived (${received.length} bytes received)`))
    }
    socket.setTimeout(timeoutMs, () => settle(new Error(`no answer within ${timeoutMs} ms`)))
    socket.on('data', (chunk: Buffer) => chunks.push(chunk))
    socket.on('end', () => settle())
    socket.on('close', () => settle())
    socket.on('error', (error) => settle(error))
    // Not end(): a half-closed socket makes Node's HTTP server abort the request it is serving.
    socket.write(serialize(request))
  })
}
