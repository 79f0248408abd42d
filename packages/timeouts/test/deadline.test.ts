import t from 'tap'
import { aborted, build, listen, type LogLine, sleep, startSlowServer } from './helpers/servers.js'

/** Warnings and errors other than the host's own log of the 504 it rendered. */
const unexpected = (lines: LogLine[]) => lines.filter((line) =>
  line.level >= 40 && (line.err as { code?: string } | undefined)?.code !== 'request_timeout')

t.test('a slow handler past timeoutMs gets 504 request_timeout in 0.3–1.5 s, request.signal aborted', async (t) => {
  const { app, lines } = await build(t, { timeoutMs: 300 })
  let signalAborted: boolean | undefined
  let handlerEnded!: () => void
  const ended = new Promise<void>((resolve) => { handlerEnded = resolve })
  app.get('/slow', async (request) => {
    await aborted(request.signal)
    signalAborted = request.signal.aborted
    handlerEnded()
    // Work that honours the signal typically rejects with its reason.
    throw request.signal.reason
  })
  const base = await listen(app)

  const started = performance.now()
  const response = await fetch(`${base}/slow`)
  const elapsed = performance.now() - started
  t.equal(response.status, 504)
  const body = await response.json()
  t.same(body, { statusCode: 504, code: 'request_timeout', error: 'Gateway Timeout', message: 'The request did not complete within 300 ms.' })
  t.ok(elapsed >= 290 && elapsed <= 1500, `answered after ${Math.round(elapsed)} ms`)
  await ended
  t.equal(signalAborted, true, 'the handler saw request.signal aborted')
  t.equal(app.timeouts.stats.timedOut, 1)
  t.equal(app.timeouts.timeoutMs, 300)
  await sleep(50)
  t.same(unexpected(lines), [], 'the late rejection is not reported as a second reply')
  t.ok(lines.some((line) => line.msg === 'handler ended after the request deadline'), 'it is noted at debug level')
})

t.test('a handler that ignores the signal and returns late does not send a second reply', async (t) => {
  const { app, lines } = await build(t, { timeoutMs: 100 })
  let returned!: () => void
  const done = new Promise<void>((resolve) => { returned = resolve })
  app.get('/late', async () => {
    await sleep(300)
    setImmediate(returned)
    return { late: true }
  })
  const response = await app.inject('/late')
  t.equal(response.statusCode, 504)
  t.equal(response.json().code, 'request_timeout')
  await done
  await sleep(20)
  t.same(unexpected(lines), [], 'the late value is not reported as a second reply')
})

t.test('an outgoing fetch given request.signal is aborted at the deadline: the slow server sees its socket close', async (t) => {
  const slow = await startSlowServer(t)
  const { app } = await build(t, { timeoutMs: 300 })
  let fetchError: unknown
  app.get('/proxy', async (request) => {
    try {
      return await (await fetch(slow.url, { signal: request.signal })).text()
    } catch (error) {
      fetchError = error
      throw error
    }
  })
  const base = await listen(app)
  const started = performance.now()
  const response = await fetch(`${base}/proxy`)
  t.equal(response.status, 504)
  t.equal(((await response.json()) as { code: string }).code, 'request_timeout')
  const closedAt = await Promise.race([slow.closed, sleep(5000).then(() => Number.NaN)])
  t.equal(slow.received, 1, 'the outgoing request reached the slow server')
  t.ok(closedAt - started < 2000, `the slow server saw the socket close ${Math.round(closedAt - started)} ms after the request`)
  t.ok(fetchError instanceof Error, 'fetch rejected')
  t.equal((fetchError as { code?: string }).code, 'FST_ERR_HANDLER_TIMEOUT', 'with the deadline as the abort reason')
})

t.test('a deadline also covers the hooks before the handler, whichever scope added them', async (t) => {
  const { app } = await build(t, { timeoutMs: 200 })
  app.addHook('onRequest', async (request) => {
    if (request.url === '/slow-on-request') await sleep(600)
  })
  app.get('/slow-on-request', async () => ({ ok: true }))
  app.get('/slow-pre-handler', { preHandler: async () => { await sleep(600) } }, async () => ({ ok: true }))
  for (const url of ['/slow-on-request', '/slow-pre-handler']) {
    const response = await app.inject(url)
    t.equal(response.statusCode, 504, url)
    t.equal(response.json().code, 'request_timeout')
  }
  t.equal(app.timeouts.stats.timedOut, 2)
})

t.test('a request answered before its deadline is untouched and not counted', async (t) => {
  const { app } = await build(t, { timeoutMs: 200 })
  let signal: AbortSignal | undefined
  app.get('/fast', async (request) => {
    signal = request.signal
    return { ok: true }
  })
  app.get('/callback', (_request, reply) => {
    setTimeout(() => reply.send({ callback: true }), 20)
  })
  const response = await app.inject('/fast')
  t.equal(response.statusCode, 200)
  t.same(response.json(), { ok: true })
  t.same((await app.inject('/callback')).json(), { callback: true }, 'a callback-style handler still answers')
  await sleep(300)
  t.equal(signal?.aborted, false, 'the timer was cleared with the response')
  t.equal(app.timeouts.stats.timedOut, 0)
})

t.test('a client that hangs up before the deadline aborts the signal without a 504 or a count', async (t) => {
  const { app } = await build(t, { timeoutMs: 2000 })
  let reason: unknown
  let sawAbort!: () => void
  const abortSeen = new Promise<void>((resolve) => { sawAbort = resolve })
  app.get('/wait', async (request) => {
    await aborted(request.signal)
    reason = request.signal.reason
    sawAbort()
    return { never: 'sent' }
  })
  const base = await listen(app)
  const client = new AbortController()
  const pending = fetch(`${base}/wait`, { signal: client.signal }).catch((error: unknown) => error)
  await sleep(200)
  client.abort()
  t.ok(await pending instanceof Error, 'the client gave up')
  await abortSeen
  t.not((reason as { code?: string } | undefined)?.code, 'FST_ERR_HANDLER_TIMEOUT', 'the reason is the hang-up, not the deadline')
  t.equal(app.timeouts.stats.timedOut, 0)
})

t.test('a streamed response whose headers went out before the deadline is cut off, not answered twice', async (t) => {
  const { app } = await build(t, { timeoutMs: 300 })
  app.get('/stream', async (_request, reply) => {
    reply.raw.writeHead(200, { 'content-type': 'text/plain' })
    reply.raw.write('partial ')
    await sleep(1000)
    reply.raw.end('done')
    return reply
  })
  const base = await listen(app)
  const response = await fetch(`${base}/stream`)
  t.equal(response.status, 200, 'the headers were already sent')
  await t.rejects(response.text(), 'the body is cut off at the deadline')
  t.equal(app.timeouts.stats.timedOut, 0, 'no 504 was sent')
})
