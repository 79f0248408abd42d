import * as net from 'node:net'
import Fastify from 'fastify'
import t from 'tap'
import { serverTimeouts } from '../src/index.js'
import { listen, sleep } from './helpers/servers.js'

t.test('serverTimeouts derives the socket limits from the request deadline', async (t) => {
  t.same(serverTimeouts(), {
    connectionTimeout: 40_000,
    keepAliveTimeout: 72_000,
    requestTimeout: 30_000,
    http: { headersTimeout: 10_000, connectionsCheckingInterval: 1000 }
  })
  t.same(serverTimeouts({ requestTimeoutMs: 5000, headersTimeoutMs: 2000, keepAliveTimeoutMs: 65_000 }), {
    connectionTimeout: 15_000,
    keepAliveTimeout: 65_000,
    requestTimeout: 5000,
    http: { headersTimeout: 2000, connectionsCheckingInterval: 1000 }
  })
  t.equal(serverTimeouts({ requestTimeoutMs: 3000 }).http.headersTimeout, 3000, 'headers never get longer than the whole request')
})

t.test('serverTimeouts refuses values that are not whole milliseconds of at least 1 s', async (t) => {
  for (const [name, value] of [
    ['requestTimeoutMs', 0], ['requestTimeoutMs', 999], ['requestTimeoutMs', 1500.5], ['requestTimeoutMs', '30000'],
    ['headersTimeoutMs', -1], ['keepAliveTimeoutMs', 2 ** 31]
  ] as const) {
    t.throws(() => serverTimeouts({ [name]: value as never }), { code: 'MUEJAM_TIMEOUTS_INVALID_OPTION', message: new RegExp(name) }, `${name} ${value}`)
  }
})

t.test('the options apply to a real Fastify server', async (t) => {
  const app = Fastify(serverTimeouts({ requestTimeoutMs: 20_000 }))
  t.teardown(() => app.close())
  await app.ready()
  t.equal(app.server.requestTimeout, 20_000)
  t.equal(app.server.headersTimeout, 10_000)
  t.equal(app.server.keepAliveTimeout, 72_000)
  t.equal(app.server.timeout, 30_000)
})

t.test('a slow-loris client (headers one byte a second) is cut off within seconds while others are served', async (t) => {
  const app = Fastify(serverTimeouts())
  t.teardown(() => app.close())
  app.get('/', async () => ({ ok: true }))
  const base = await listen(app)
  const { port } = new URL(base)

  const started = performance.now()
  const loris = net.connect(Number(port), '127.0.0.1')
  let received = ''
  loris.on('data', (chunk) => { received += chunk.toString() })
  loris.on('error', () => {})
  const state = { open: true }
  const closed = new Promise<number>((resolve) => loris.once('close', () => {
    state.open = false
    resolve(performance.now() - started)
  }))
  await new Promise<void>((resolve) => loris.once('connect', () => resolve()))

  // Endless headers, one byte a second; meanwhile a normal client asks every second.
  const header = 'GET / HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Padding: ' + 'a'.repeat(100)
  let sent = 0
  let served = 0
  while (state.open && performance.now() - started < 30_000) {
    loris.write(header[sent % header.length] as string)
    sent++
    const response = await fetch(`${base}/`)
    if (response.status === 200 && ((await response.json()) as { ok?: boolean }).ok === true) served++
    await Promise.race([sleep(1000), closed])
  }
  const closedAfter = await Promise.race([closed, sleep(1000).then(() => Number.NaN)])
  t.ok(closedAfter >= 9000 && closedAfter <= 20_000, `the server closed the slow client after ${Math.round(closedAfter)} ms (headersTimeout 10 s)`)
  t.ok(sent < header.length, `its headers never completed (${sent} bytes sent)`)
  t.match(received, /^HTTP\/1\.1 408 /, 'it was told 408 Request Timeout')
  t.ok(served >= 8, `other clients were served meanwhile (${served} requests)`)
  const after = await fetch(`${base}/`)
  t.equal(after.status, 200, 'the server still serves afterwards')
})

t.test('a client that connects and sends nothing is cut off at headersTimeout', async (t) => {
  const app = Fastify(serverTimeouts({ headersTimeoutMs: 1000 }))
  t.teardown(() => app.close())
  app.get('/', async () => ({ ok: true }))
  const { port } = new URL(await listen(app))
  const started = performance.now()
  const silent = net.connect(Number(port), '127.0.0.1')
  let received = ''
  silent.on('data', (chunk) => { received += chunk.toString() })
  silent.on('error', () => {})
  const closedAfter = await new Promise<number>((resolve) => silent.once('close', () => resolve(performance.now() - started)))
  t.ok(closedAfter >= 900 && closedAfter <= 5000, `closed after ${Math.round(closedAfter)} ms`)
  t.match(received, /^HTTP\/1\.1 408 /)
})
