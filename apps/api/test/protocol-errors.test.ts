import { connect } from 'node:net'
import type { AddressInfo } from 'node:net'
import t from 'tap'
import { build, databaseEnv } from './helpers/build.js'
import { sendRaw, type RawRequest, type RawResponse } from './helpers/fuzz/raw-http.js'

interface Problem {
  status: number
  code: string
  type: string
}

const PROBLEM_TYPE = 'application/problem+json; charset=utf-8'

function problemOf (response: RawResponse): Problem {
  return JSON.parse(response.body.toString('utf8')) as Problem
}

/** Writes `head` and leaves the socket open; resolves with all the server writes until it closes. */
function sendRawText (port: number, head: string): Promise<string> {
  return new Promise((resolve, reject) => {
    const socket = connect({ host: '127.0.0.1', port })
    const chunks: Buffer[] = []
    socket.on('data', (chunk: Buffer) => chunks.push(chunk))
    socket.on('close', () => resolve(Buffer.concat(chunks).toString('latin1')))
    socket.on('error', reject)
    socket.write(head)
  })
}

t.test('what Node refuses before Fastify sees a request is still a problem with its code', async (t) => {
  const app = await build(t, await databaseEnv(t, 'protocol_errors'))
  await app.listen({ host: '127.0.0.1', port: 0 })
  const { port } = app.server.address() as AddressInfo
  const host: [string, string] = ['host', '127.0.0.1']

  const cases: Array<{ name: string, request: RawRequest, status: number, code: string }> = [
    { name: 'a mixed-case method', request: { method: 'Get', target: '/health/live', headers: [host] }, status: 400, code: 'bad_request' },
    { name: 'a raw 0xFF byte in the path', request: { method: 'GET', target: '/v1/stories/\u00ff', headers: [host] }, status: 400, code: 'bad_request' },
    { name: 'a negative content-length', request: { method: 'POST', target: '/v1/stories', headers: [host, ['content-length', '-1']] }, status: 400, code: 'bad_request' },
    { name: 'two different content-lengths', request: { method: 'POST', target: '/v1/stories', headers: [host, ['content-length', '1'], ['content-length', '2']], body: Buffer.from('{}') }, status: 400, code: 'bad_request' },
    { name: 'a control character in a header', request: { method: 'GET', target: '/health/live', headers: [host, ['x-odd', 'a\u0001b']] }, status: 400, code: 'bad_request' },
    { name: 'headers over 16 KiB', request: { method: 'GET', target: `/v1/stories?x=${'a'.repeat(20_000)}`, headers: [host] }, status: 431, code: 'headers_too_large' },
    { name: 'no Host header', request: { method: 'GET', target: '/v1/stories', headers: [] }, status: 400, code: 'bad_request' },
    { name: 'an unknown expectation', request: { method: 'GET', target: '/health/live', headers: [host, ['expect', 'the-unexpected']] }, status: 417, code: 'expectation_failed' }
  ]
  for (const { name, request, status, code } of cases) {
    const response = await sendRaw(port, request, 10_000)
    t.equal(response.status, status, `${name}: ${status}`)
    t.same(response.headers.get('content-type'), [PROBLEM_TYPE], `${name}: a problem`)
    t.match(problemOf(response), { status, code, type: `urn:muejam:problem:${code}` }, `${name}: ${code}`)
  }

  const plain = await sendRaw(port, { method: 'GET', target: '/health/live', headers: [host] }, 10_000)
  t.equal(plain.status, 200, 'the same request, well formed, is served')
  const continued = await sendRaw(port, { method: 'GET', target: '/health/live', headers: [host, ['expect', '100-continue']] }, 10_000)
  t.equal(continued.status, 200, '100-continue is still met')
  const http10 = await sendRawText(port, 'GET /health/live HTTP/1.0\r\n\r\n')
  t.match(http10, /^HTTP\/1\.1 200 /, 'HTTP/1.0 needs no Host')
})

t.test('a request whose head does not arrive in time is a 408 client_timeout problem', async (t) => {
  const app = await build(t, { ...await databaseEnv(t, 'protocol_timeout'), REQUEST_TIMEOUT_MS: '1000' })
  await app.listen({ host: '127.0.0.1', port: 0 })
  const { port } = app.server.address() as AddressInfo
  const answer = await sendRawText(port, 'GET /health/live HTTP/1.1\r\nhost: 127.0.0.1\r\n')
  t.match(answer, /^HTTP\/1\.1 408 Request Timeout\r\n/, '408')
  t.match(answer, /\r\nContent-Type: application\/problem\+json; charset=utf-8\r\n/, 'a problem')
  const body = JSON.parse(answer.slice(answer.indexOf('\r\n\r\n') + 4)) as Problem
  t.match(body, { status: 408, code: 'client_timeout', type: 'urn:muejam:problem:client_timeout' })
})
