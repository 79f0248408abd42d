import { request as httpRequest } from 'node:http'
import t from 'tap'
import { aborted, build, listen, post, sleep } from './helpers/servers.js'

/*
 * Over real sockets: Node emits the request's 'close' once its body has been read, which
 * must not pass for a client that went away.
 */

t.test('a request with a body keeps request.signal unaborted through its handler once the body is read', async (t) => {
  const { app } = await build(t, { timeoutMs: 2000 })
  app.post('/stories', async (request) => {
    const before = request.signal.aborted
    await sleep(100)
    return { received: request.body, before, after: request.signal.aborted }
  })
  const base = await listen(app)
  const response = await post(`${base}/stories`, { title: 'A body' })
  t.same(response, { status: 200, body: JSON.stringify({ received: { title: 'A body' }, before: false, after: false }) })
})

t.test('a request with a body still gets its deadline: 504 and request.signal aborted with the deadline', async (t) => {
  const { app } = await build(t, { timeoutMs: 300 })
  let reason: unknown
  app.post('/slow', async (request) => {
    await aborted(request.signal)
    reason = request.signal.reason
    throw request.signal.reason
  })
  const base = await listen(app)
  const started = performance.now()
  const response = await post(`${base}/slow`, { title: 'Slow' })
  const elapsed = performance.now() - started
  t.match(response, { status: 504 })
  t.equal(JSON.parse((response as { body: string }).body).code, 'request_timeout')
  t.ok(elapsed >= 290 && elapsed <= 1500, `answered after ${Math.round(elapsed)} ms`)
  t.equal((reason as { code?: string }).code, 'FST_ERR_HANDLER_TIMEOUT')
  t.equal(app.timeouts.stats.timedOut, 1)
})

t.test('a client that hangs up after sending its body aborts request.signal, not as a deadline', async (t) => {
  const { app } = await build(t, { timeoutMs: 5000 })
  let reason: unknown
  let sawAbort!: () => void
  const abortSeen = new Promise<void>((resolve) => { sawAbort = resolve })
  app.post('/wait', async (request) => {
    await aborted(request.signal)
    reason = request.signal.reason
    sawAbort()
    return { never: 'sent' }
  })
  const base = await listen(app)
  t.equal(await post(`${base}/wait`, { title: 'Gone' }, 200), 'hung up')
  await Promise.race([abortSeen, sleep(3000).then(() => { throw new Error('the signal was not aborted within 3 s of the hang-up') })])
  t.not((reason as { code?: string } | undefined)?.code, 'FST_ERR_HANDLER_TIMEOUT', 'the reason is the hang-up')
  t.equal(app.timeouts.stats.timedOut, 0)
})

t.test('a client that hangs up in the middle of its body aborts request.signal', async (t) => {
  const { app } = await build(t, { timeoutMs: 5000 })
  let sawAbort!: () => void
  const abortSeen = new Promise<void>((resolve) => { sawAbort = resolve })
  app.addHook('onRequest', async (request) => {
    request.signal.addEventListener('abort', () => sawAbort(), { once: true })
  })
  app.post('/upload', async () => ({ never: 'reached' }))
  const base = await listen(app)
  const outgoing = httpRequest(`${base}/upload`, { method: 'POST', headers: { 'content-type': 'application/json', 'content-length': '1000' } })
  outgoing.on('error', () => {})
  outgoing.write('{"title": "only a part')
  await sleep(200)
  outgoing.destroy()
  await Promise.race([abortSeen, sleep(3000).then(() => { throw new Error('the signal was not aborted within 3 s of the hang-up') })])
  t.pass('the incomplete request aborted the signal')
})

t.test('a route\'s own onRequest hooks, one or several, still run after the guard', async (t) => {
  const { app } = await build(t, { timeoutMs: 2000 })
  const ran: string[] = []
  app.post('/one', { onRequest: async () => { ran.push('one') } }, async (request) => ({ aborted: request.signal.aborted }))
  app.post('/two', { onRequest: [async () => { ran.push('two:a') }, async () => { ran.push('two:b') }] }, async (request) => {
    await sleep(50)
    return { aborted: request.signal.aborted }
  })
  const base = await listen(app)
  t.same(await post(`${base}/one`, {}), { status: 200, body: '{"aborted":false}' })
  t.same(await post(`${base}/two`, {}), { status: 200, body: '{"aborted":false}' })
  t.same(ran, ['one', 'two:a', 'two:b'])
})
