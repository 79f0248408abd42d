import type { IncomingMessage } from 'node:http'
import { connect, type AddressInfo } from 'node:net'
import t from 'tap'
import { requestIdFrom } from '../src/index.js'
import { build } from './helpers/app.js'

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/

function incoming (headers: Record<string, string | string[]>): IncomingMessage {
  return { headers } as unknown as IncomingMessage
}

t.test('requestIdFrom keeps a sane X-Request-Id and replaces anything else with a UUID', async (t) => {
  t.equal(requestIdFrom(incoming({ 'x-request-id': 'abc-123_X.y' })), 'abc-123_X.y')
  t.equal(requestIdFrom(incoming({ 'x-request-id': 'a'.repeat(128) })), 'a'.repeat(128), '128 characters is the limit')
  for (const forged of ['a'.repeat(129), 'a'.repeat(1000), 'abc\ninjected', 'abc def', '', 'id;drop', 'ünïcode', 'a,b']) {
    const id = requestIdFrom(incoming({ 'x-request-id': forged }))
    t.match(id, UUID, `${encodeURIComponent(forged.slice(0, 20))} is replaced`)
  }
  t.match(requestIdFrom(incoming({ 'x-request-id': ['one', 'two'] })), UUID, 'a repeated header is replaced')
  t.match(requestIdFrom(incoming({})), UUID, 'a missing header gets a UUID')
  t.not(requestIdFrom(incoming({})), requestIdFrom(incoming({})), 'each generated id is new')
})

async function app (t: Parameters<typeof build>[0]) {
  const server = await build(t, {}, { genReqId: requestIdFrom })
  server.get('/ok', async () => ({ ok: true }))
  server.get('/boom', async () => { throw new Error('boom') })
  server.get('/teapot', async () => { throw Object.assign(new Error('no coffee'), { statusCode: 418 }) })
  server.get('/guarded', { onRequest: async () => { throw Object.assign(new Error('nope'), { statusCode: 401 }) } }, async () => 'never')
  return server
}

t.test('every response echoes the request id: success, 404, thrown errors, hook errors', async (t) => {
  const server = await app(t)
  for (const [url, status] of [['/ok', 200], ['/missing', 404], ['/boom', 500], ['/teapot', 418], ['/guarded', 401]] as const) {
    const response = await server.inject({ url, headers: { 'x-request-id': 'client-id-1' } })
    t.equal(response.statusCode, status, url)
    t.equal(response.headers['x-request-id'], 'client-id-1', `${url} echoes the caller's id`)
    const generated = await server.inject(url)
    t.match(generated.headers['x-request-id'], UUID, `${url} carries a generated id`)
  }
})

t.test('a forged X-Request-Id with a newline or 1 000 characters is replaced, not echoed', async (t) => {
  const server = await app(t)
  server.get('/echo-log', async (request) => ({ id: request.id }))
  const long = 'x'.repeat(1000)
  for (const forged of [long, 'abc\ninjected', 'abc\r\nSet-Cookie: x=1', 'abc\u2028def', 'abc%0d%0aSet-Cookie: x=1']) {
    const response = await server.inject({ url: '/echo-log', headers: { 'x-request-id': forged } })
    t.equal(response.statusCode, 200)
    const echoed = response.headers['x-request-id']
    // The message shows the value URL-encoded: a raw U+2028 would break the TAP stream itself.
    t.match(echoed, UUID, `${encodeURIComponent(forged.slice(0, 24))} is replaced by a UUID`)
    t.equal(response.json().id, echoed, 'the handler sees the same replaced id')
    t.equal(response.headers['set-cookie'], undefined)
    t.notOk(JSON.stringify(response.headers).includes(forged.slice(0, 12)))
  }
})

t.test('on a real socket a 1 000-character id is replaced and a raw newline never reaches the app', async (t) => {
  const server = await app(t)
  await server.listen({ port: 0, host: '127.0.0.1' })
  const { port } = server.server.address() as AddressInfo
  async function raw (header: string): Promise<string> {
    const socket = connect(port, '127.0.0.1')
    socket.write(`GET /ok HTTP/1.1\r\nHost: x\r\n${header}\r\nConnection: close\r\n\r\n`)
    let text = ''
    for await (const chunk of socket) text += String(chunk)
    return text
  }
  const long = await raw(`X-Request-Id: ${'y'.repeat(1000)}`)
  t.match(long, /^HTTP\/1\.1 200 /)
  t.match(/x-request-id: (.*)\r\n/i.exec(long)?.[1], UUID)
  t.notOk(long.includes('y'.repeat(129)))
  for (const header of ['X-Request-Id: abc\ninjected: 1', 'X-Request-Id: abc\r\n injected', 'X-Request-Id: abc\rdef']) {
    const answer = await raw(header)
    t.match(answer, /^HTTP\/1\.1 400 /, `${JSON.stringify(header)} is refused by the HTTP parser`)
    t.notOk(answer.includes('injected'))
  }
})
