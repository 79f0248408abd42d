import type { Outcome } from './invariants.js'
import type { RawRequest, RawResponse } from './raw-http.js'

/*
 * A failing request as a reader can replay it: method, request-target, headers and body,
 * every character visible (JSON string escapes, and \uXXXX beyond ASCII, so no line
 * separator reaches the TAP stream), long values cut in the middle with their length.
 */

const HEAD_CHARS = 240
const TAIL_CHARS = 60

function visible (text: string): string {
  return JSON.stringify(text).replace(/[^\x20-\x7e]/g, (char) => `\\u${char.charCodeAt(0).toString(16).padStart(4, '0')}`)
}

function cut (text: string): string {
  if (text.length <= HEAD_CHARS + TAIL_CHARS + 20) return visible(text)
  return `${visible(text.slice(0, HEAD_CHARS))} … ${visible(text.slice(-TAIL_CHARS))} (${text.length} characters)`
}

function bytes (buffer: Buffer): string {
  const utf8 = buffer.toString('utf8')
  const exact = Buffer.from(utf8, 'utf8').equals(buffer)
  return `${buffer.length} bytes${exact ? '' : ', not UTF-8, shown as Latin-1'}: ${cut(exact ? utf8 : buffer.toString('latin1'))}`
}

/** The request, one line per part; the request-target and header values as sent (bytes as Latin-1). */
export function describeRequest (request: RawRequest): string {
  return [
    `${visible(request.method)} ${cut(request.target)}`,
    ...request.headers.map(([name, value]) => `  ${name}: ${cut(value)}`),
    ...(request.body === undefined ? [] : [`  body: ${bytes(request.body)}`])
  ].join('\n')
}

export function describeResponse (response: RawResponse | undefined, error?: string): string {
  if (response === undefined) return `no response: ${error ?? 'unknown'}`
  return `${response.status} ${response.headers.get('content-type')?.join(', ') ?? '(no content-type)'}, body ${bytes(response.body)}`
}

export function describeOutcome (outcome: Outcome): string {
  return `${outcome.fuzz.route} [${outcome.fuzz.kind}] ${outcome.fuzz.note}\n${describeRequest(outcome.fuzz.request)}\n→ ${describeResponse(outcome.response, outcome.error)}`
}
