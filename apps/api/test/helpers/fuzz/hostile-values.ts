/*
 * Inputs no schema describes: near-miss ids, odd Unicode, raw bytes, deep and duplicate-key
 * JSON, content types, methods, paths, headers and query strings. Each comes with a note
 * that names it in a reproduction.
 */

export interface Variant<T> {
  note: string
  value: T
}

/** The one accepted spelling of an id: 8-4-4-4-12 hex digits, any case. */
export const CANONICAL_ID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i

/** The path segment's value once the server decodes it; undefined when it cannot be decoded. */
export function decodedSegment (segment: string): string | undefined {
  try {
    return decodeURIComponent(segment)
  } catch {
    return undefined
  }
}

const UNRESERVED = /^[A-Za-z0-9\-._~]$/

/** `text` percent-encoded byte by byte as UTF-8 (a lone surrogate becomes U+FFFD, as any encoder makes it). */
export function percentEncode (text: string): string {
  return [...Buffer.from(text, 'utf8')].map((byte) => {
    const char = String.fromCharCode(byte)
    return UNRESERVED.test(char) ? char : `%${byte.toString(16).toUpperCase().padStart(2, '0')}`
  }).join('')
}

/** Near-miss spellings of the canonical `id`, as path segments (percent-encoded where a client would). */
export function nearMissIds (id: string): Array<Variant<string>> {
  const bare = id.replace(/-/g, '')
  const enc = percentEncode
  return [
    { note: 'urn:uuid: prefix', value: `urn:uuid:${id}` },
    { note: 'URN:UUID: prefix', value: `URN:UUID:${id.toUpperCase()}` },
    { note: 'braces, encoded', value: enc(`{${id}}`) },
    { note: 'braces, raw', value: `{${id}}` },
    { note: 'parentheses', value: `(${id})` },
    { note: 'no dashes', value: bare },
    { note: 'uppercase', value: id.toUpperCase() },
    { note: 'mixed case', value: [...id].map((c, i) => i % 2 === 0 ? c.toUpperCase() : c).join('') },
    { note: '35 characters', value: id.slice(0, 35) },
    { note: '37 characters', value: `${id}a` },
    { note: 'a non-hex digit first', value: `g${id.slice(1)}` },
    { note: 'a non-hex digit last', value: `${id.slice(0, 35)}z` },
    { note: 'dashes in other places', value: `${bare.slice(0, 8)}-${bare.slice(8, 12)}-${bare.slice(12, 16)}-${bare.slice(16)}` },
    { note: 'underscores for dashes', value: id.replace(/-/g, '_') },
    { note: 'dashes percent-encoded', value: id.replace(/-/g, '%2D') },
    { note: 'every character percent-encoded', value: [...id].map((c) => `%${c.charCodeAt(0).toString(16).padStart(2, '0')}`).join('') },
    { note: 'double-encoded dashes', value: id.replace(/-/g, '%252D') },
    { note: 'a leading space', value: `%20${id}` },
    { note: 'a trailing space', value: `${id}%20` },
    { note: 'a trailing tab', value: `${id}%09` },
    { note: 'a trailing NUL', value: `${id}%00` },
    { note: 'a trailing zero-width space', value: `${id}%E2%80%8B` },
    { note: 'a trailing dot', value: `${id}.` },
    { note: 'a trailing encoded slash', value: `${id}%2F` },
    { note: 'a quote and SQL', value: enc(`${id}' or '1'='1`) },
    { note: 'fullwidth digits', value: enc(id.replace(/[0-9]/g, (d) => String.fromCharCode(0xff10 + Number(d)))) },
    { note: 'a Cyrillic а for a', value: enc(id.replace(/a/g, 'а')) },
    { note: 'two ids', value: `${id},${id}` },
    { note: 'the nil UUID', value: '00000000-0000-0000-0000-000000000000' },
    { note: 'the max UUID', value: 'ffffffff-ffff-ffff-ffff-ffffffffffff' },
    { note: '36 dashes', value: '-'.repeat(36) },
    { note: 'base64 of the bytes', value: Buffer.from(bare, 'hex').toString('base64url') },
    { note: 'empty', value: '' },
    { note: 'zero', value: '0' },
    { note: 'minus one', value: '-1' },
    { note: 'null', value: 'null' },
    { note: 'NaN', value: 'NaN' },
    { note: '1e9999', value: '1e9999' },
    { note: '10 000 characters', value: id.repeat(278) }
  ]
}

/** Strings that are valid UTF-16 text for JavaScript but odd everywhere else. */
export const ODD_STRINGS: Array<Variant<string>> = [
  { note: 'a lone high surrogate', value: 'x\ud800y' },
  { note: 'a lone low surrogate', value: 'x\udfffy' },
  { note: 'a reversed surrogate pair', value: '\udc00\ud800' },
  { note: 'a surrogate at the end', value: 'abc\ud83d' },
  { note: 'a NUL character', value: 'a\u0000b' },
  { note: 'a byte order mark', value: '\ufeffabc' },
  { note: 'noncharacters', value: '\uffff\ufffe\u{10ffff}\ufdd0' },
  { note: 'a right-to-left override', value: 'abc\u202edef' },
  { note: 'zero-width characters only', value: '\u200b\u200c\u200d' },
  { note: '500 combining marks', value: `e${'\u0301'.repeat(500)}` },
  { note: 'a ZWJ emoji sequence', value: '👩‍👩‍👧‍👦🇺🇳' },
  { note: 'C0 controls and an ANSI escape', value: '\u0001\u0007\u001b[31mred' },
  { note: 'DEL and C1 controls', value: '\u007f\u0085\u009b' },
  { note: 'line and paragraph separators', value: 'a\u2028b\u2029c' },
  { note: 'CRLF and a header', value: 'x\r\nSet-Cookie: a=b' },
  { note: 'fullwidth and math letters', value: 'ｔｉｔｌｅ 𝐭𝐢𝐭𝐥𝐞' },
  { note: 'private use and tag characters', value: '\ue000\u{e0041}\u{f0000}' },
  { note: 'markup', value: '<script>alert(1)</script>' },
  { note: 'SQL', value: '\'; drop table stories; --' },
  { note: 'format directives and a lookup', value: ['%s%n%x%d', '$', '{jndi:ldap://x}{{7*7}}'].join('') },
  { note: 'backslashes and quotes', value: '\\\\"\'`\\u0000' }
]

/** Byte sequences that are not UTF-8, or are UTF-8 that decoders disagree on. */
export const RAW_BYTES: Array<Variant<Buffer>> = [
  { note: '0xFF', value: Buffer.from([0xff]) },
  { note: 'an overlong NUL (C0 80)', value: Buffer.from([0xc0, 0x80]) },
  { note: 'an encoded surrogate (ED A0 80)', value: Buffer.from([0xed, 0xa0, 0x80]) },
  { note: 'past U+10FFFF (F4 90 80 80)', value: Buffer.from([0xf4, 0x90, 0x80, 0x80]) },
  { note: 'a lone continuation byte', value: Buffer.from([0x80]) },
  { note: 'a truncated sequence', value: Buffer.from([0xe2, 0x82]) },
  { note: 'a raw NUL', value: Buffer.from([0x00]) },
  { note: 'a raw ESC', value: Buffer.from([0x1b]) },
  { note: 'raw Latin-1 é', value: Buffer.from([0xe9]) }
]

export type DeepShape = 'arrays' | 'objects' | 'mixed'

/** JSON text nested `depth` levels deep around `core`. */
export function deepJson (shape: DeepShape, depth: number, core = '1'): string {
  switch (shape) {
    case 'arrays':
      return `${'['.repeat(depth)}${core}${']'.repeat(depth)}`
    case 'objects':
      return `${'{"a":'.repeat(depth)}${core}${'}'.repeat(depth)}`
    case 'mixed':
      return `${'[{"a":'.repeat(Math.ceil(depth / 2))}${core}${'}]'.repeat(Math.ceil(depth / 2))}`
  }
}

export const DEPTHS = [64, 1_000, 5_000, 20_000, 100_000]

export interface ContentType {
  note: string
  /** Header values in order; empty sends none. */
  values: string[]
  /** Not a JSON media type: a body under it must be refused. (A charset or odd parameter may go either way.) */
  notJson: boolean
}

export const CONTENT_TYPES: ContentType[] = [
  { note: 'none', values: [], notJson: true },
  { note: 'text/plain', values: ['text/plain'], notJson: true },
  { note: 'a form', values: ['application/x-www-form-urlencoded'], notJson: true },
  { note: 'multipart', values: ['multipart/form-data; boundary=x'], notJson: true },
  { note: 'octet-stream', values: ['application/octet-stream'], notJson: true },
  { note: 'text/json', values: ['text/json'], notJson: true },
  { note: 'application/jsonx', values: ['application/jsonx'], notJson: true },
  { note: 'an empty content type', values: [''], notJson: true },
  { note: 'application/problem+json', values: ['application/problem+json'], notJson: true },
  { note: 'a list of types', values: ['application/json, text/plain'], notJson: false },
  { note: 'two content-type headers', values: ['application/json', 'text/plain'], notJson: false },
  { note: 'charset utf-16', values: ['application/json; charset=utf-16'], notJson: false },
  { note: 'charset latin1', values: ['application/json; charset=latin1'], notJson: false },
  { note: 'a bogus parameter', values: ['application/json; x=";"'], notJson: false },
  { note: 'uppercase JSON', values: ['APPLICATION/JSON'], notJson: false },
  { note: 'JSON, charset utf-8', values: ['application/json;charset=UTF-8'], notJson: false }
]

/** Methods the API has no route for, in every spelling a client can send. */
export const ODD_METHODS = ['PUT', 'TRACE', 'PROPFIND', 'OPTIONS', 'QUERY', 'SEARCH', 'MKCOL', 'LOCK', 'PURGE', 'FOO', 'M-SEARCH', 'get', 'post', 'Get', 'GET', 'POST', 'PATCH', 'DELETE', 'HEAD']

/** Odd spellings of `path` (a filled path) as request-targets. */
export function oddPaths (path: string): Array<Variant<string>> {
  return [
    { note: 'a trailing slash', value: `${path}/` },
    { note: 'a leading double slash', value: `/${path}` },
    { note: 'a double slash inside', value: path.replace('/v1/', '/v1//') },
    { note: 'uppercase', value: path.toUpperCase() },
    { note: 'a trailing encoded slash', value: `${path}%2F` },
    { note: 'a trailing dot segment', value: `${path}/..` },
    { note: 'a dot segment inside', value: path.replace('/v1', '/v1/.') },
    { note: 'a matrix parameter', value: `${path};x=1` },
    { note: 'a trailing encoded NUL', value: `${path}%00` },
    { note: 'a fragment', value: `${path}#fragment` },
    { note: 'the asterisk form', value: '*' },
    { note: 'the absolute form', value: `http://127.0.0.1${path}` },
    { note: 'the absolute form of another host', value: `http://evil.example${path}` },
    { note: 'an 8 000-character segment', value: `${path}/${'a'.repeat(8000)}` },
    { note: 'a segment of 5 000 encoded control characters', value: `${path}/${'%01'.repeat(5000)}` },
    { note: 'raw UTF-8', value: `${path}/é字` },
    { note: 'a bad percent-escape', value: `${path}/%zz` },
    { note: 'a lone percent sign', value: `${path}/%` },
    { note: 'overlong UTF-8 dots', value: `${path}/%C0%AE%C0%AE` },
    { note: 'an encoded surrogate', value: `${path}/%ED%A0%80` },
    { note: 'an empty query', value: `${path}?` },
    { note: 'a traversal', value: `${path}/${'../'.repeat(8)}etc/passwd` },
    { note: 'a backslash', value: `${path}\\` }
  ]
}

export interface QueryVariant {
  note: string
  /** The query string after `?`, as sent. */
  text: string
}

/** Query strings no client of the API sends: many, huge, repeated, prototype-named parameters. */
export function oddQueries (): QueryVariant[] {
  const many = (count: number) => Array.from({ length: count }, (_, i) => `p${i}=${i}`).join('&')
  return [
    { note: '50 unknown parameters', text: many(50) },
    { note: '1 200 unknown parameters', text: many(1200) },
    { note: '2 200 short unknown parameters', text: Array.from({ length: 2200 }, (_, i) => `${(i % 26 + 10).toString(36)}${i}`).join('&') },
    { note: 'a 15 000-character value', text: `x=${'a'.repeat(15_000)}` },
    { note: 'a 20 000-character value', text: `x=${'a'.repeat(20_000)}` },
    { note: 'prototype names', text: '__proto__=1&constructor=2&prototype=3&hasOwnProperty=4&toString=5' },
    { note: 'bracket syntax', text: '__proto__[x]=1&constructor[prototype][x]=1&a[]=1&a[0]=2' },
    { note: 'a lone percent sign', text: 'x=%' },
    { note: 'a bad percent-escape', text: 'x=%zz' },
    { note: 'an encoded NUL', text: 'x=%00' },
    { note: 'separators only', text: '&&&==&=' },
    { note: 'a name without a value', text: 'x' },
    { note: 'raw UTF-8', text: 'x=é字😀' },
    { note: 'an encoded surrogate', text: 'x=%ED%A0%80' },
    { note: 'the same name 500 times', text: Array.from({ length: 500 }, () => 'x=1').join('&') }
  ]
}

/** Bad values for a declared query parameter of `type`, as the server decodes them (they are percent-encoded when sent). */
export function oddParameterValues (type: string | undefined): string[] {
  const numeric = ['0', '-1', '101', '2.5', 'abc', '', '1e3', '0x10', ' 5', '+5', '１', '99999999999999999999', 'NaN', 'Infinity', 'true', '\u0000', '5abc', '-0']
  const text = ['', '\u0000', 'no-dot', 'a.b', 'a.b.c', 'x'.repeat(513), '\u200b.\u200b', '....', 'é.字', 'a\ud800.b']
  return type === 'integer' || type === 'number' ? numeric : text
}

export interface HeaderVariant {
  note: string
  /** Replaces the headers of the same names (lowercase); an empty value list drops the header. */
  set: Array<[string, string[]]>
  /** Replaces the body (already framed, e.g. chunked). */
  body?: Buffer
}

/** Header oddities, given a valid and a refused authorization header. */
export function oddHeaders (valid: string, refused: string, other: string): HeaderVariant[] {
  const chunked = (text: string) => Buffer.from(`${Buffer.byteLength(text).toString(16)}\r\n${text}\r\n0\r\n\r\n`)
  return [
    { note: 'a valid then a refused authorization', set: [['authorization', [valid, refused]]] },
    { note: 'a refused then a valid authorization', set: [['authorization', [refused, valid]]] },
    { note: 'two valid authorizations of different users', set: [['authorization', [valid, other]]] },
    { note: 'no host', set: [['host', []]] },
    { note: 'an empty host', set: [['host', ['']]] },
    { note: 'another host', set: [['host', ['evil.example']]] },
    { note: 'two hosts', set: [['host', ['127.0.0.1', 'evil.example']]] },
    { note: 'a 10 000-character request id', set: [['x-request-id', ['r'.repeat(10_000)]]] },
    { note: 'a request id of raw UTF-8', set: [['x-request-id', [Buffer.from('é字😀', 'utf8').toString('latin1')]]] },
    { note: 'a request id with spaces and quotes', set: [['x-request-id', ['a "quoted" id; with=parts']]] },
    { note: 'an empty request id', set: [['x-request-id', ['']]] },
    { note: 'two request ids', set: [['x-request-id', ['first', 'second']]] },
    { note: 'a request id with a control character', set: [['x-request-id', ['a\u0001b']]] },
    { note: 'a 15 000-character header', set: [['x-padding', ['p'.repeat(15_000)]]] },
    { note: 'a 20 000-character header', set: [['x-padding', ['p'.repeat(20_000)]]] },
    { note: 'forwarded headers', set: [['x-forwarded-for', ['1.2.3.4, not-an-ip, ::1']], ['x-forwarded-host', ['evil.example']], ['x-forwarded-proto', ['gopher']]] },
    { note: 'odd accept', set: [['accept', ['application/xml;q=1, */*;q=0']]] },
    { note: 'accept-encoding', set: [['accept-encoding', ['gzip, br, zstd']]] },
    { note: 'content-length -1', set: [['content-length', ['-1']]] },
    { note: 'content-length abc', set: [['content-length', ['abc']]] },
    { note: 'two content-lengths', set: [['content-length', ['1', '2']]] },
    { note: 'chunked', set: [['transfer-encoding', ['chunked']], ['content-length', []]], body: chunked('{"title":"chunked"}') },
    { note: 'chunked and a content-length', set: [['transfer-encoding', ['chunked']], ['content-length', ['5']]], body: chunked('{}') },
    { note: 'an unknown transfer-encoding', set: [['transfer-encoding', ['gzip']], ['content-length', []]], body: Buffer.from('{}') },
    { note: 'expect 100-continue', set: [['expect', ['100-continue']]] },
    { note: 'an unknown expectation', set: [['expect', ['the-unexpected']]] },
    { note: 'a header name with a space', set: [['x-bad name', ['1']]] },
    { note: 'a header value with a raw NUL', set: [['x-nul', ['a\u0000b']]] },
    { note: 'a header value of raw bytes', set: [['x-raw', ['\u00ff\u00fe\u0080']]] },
    { note: 'a content-encoding the server does not speak', set: [['content-encoding', ['gzip']]] }
  ]
}
