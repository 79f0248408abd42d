import type { FastifyInstance, FastifyRequest } from 'fastify'
import t, { type Test } from 'tap'
import { abortListenerKey, abortWhenClientGone, ON_ABORT_SLOT } from '../src/client-gone.js'
import { aborted, build, listen, post, sleep } from './helpers/servers.js'

/*
 * The guard against fastify#6725 swaps a listener Fastify keeps under a private symbol. These
 * tests fail when this Fastify no longer keeps it there (the guard would silently do nothing)
 * and when Fastify alone no longer has the bug (the guard can go).
 */

type Slots = Record<symbol, unknown>

function slotValue (request: FastifyRequest, key: symbol | undefined): unknown {
  return key === undefined ? undefined : (request as unknown as Slots)[key]
}

function closeListeners (request: FastifyRequest): unknown[] {
  return request.raw.listeners('close')
}

t.test(`this Fastify keeps request.signal's 'close' listener in the private slot '${ON_ABORT_SLOT}' the guard swaps`, async (t) => {
  const { app } = await build(t, { timeoutMs: 2000 })
  const reliesOn = `the fastify#6725 guard in src/client-gone.ts relies on Fastify ${app.version}`
  let key: symbol | undefined
  let symbols: string[] = []
  let fastifyListener: unknown
  let fastifyListenerOnClose = false
  let guardListener: unknown
  let guardListenerOnClose: boolean | undefined
  let guardListenerAfterReply: boolean | undefined

  // Instance hooks run before the route's own onRequest hooks, so before the guard.
  app.addHook('onRequest', async (request) => {
    symbols = Object.getOwnPropertySymbols(request).map(String)
    key = abortListenerKey(request)
    fastifyListener = slotValue(request, key)
    fastifyListenerOnClose = closeListeners(request).includes(fastifyListener)
  })
  app.addHook('onResponse', async (request) => {
    guardListenerAfterReply = closeListeners(request).includes(guardListener)
  })
  app.post('/stories', async (request) => {
    guardListener = slotValue(request, key)
    guardListenerOnClose = closeListeners(request).includes(guardListener) && !closeListeners(request).includes(fastifyListener)
    return { ok: true }
  })
  const base = await listen(app)
  t.same(await post(`${base}/stories`, { title: 'A body' }), { status: 200, body: '{"ok":true}' }, 'the POST is answered')

  t.ok(key, `${reliesOn} keeping a symbol described '${ON_ABORT_SLOT}' on each request with a deadline (this one has ${symbols.join(', ')})`)
  t.equal(typeof fastifyListener, 'function', `${reliesOn} keeping request.signal's abort listener in '${ON_ABORT_SLOT}'`)
  t.ok(fastifyListenerOnClose, `${reliesOn} listening to the request's 'close' event with the function in '${ON_ABORT_SLOT}'`)
  t.not(guardListener, fastifyListener, 'the guard put its own listener in the slot')
  t.equal(guardListenerOnClose, true, 'the guard\'s listener replaced Fastify\'s on the request\'s \'close\' event')
  t.equal(guardListenerAfterReply, false, `${reliesOn} removing the function in '${ON_ABORT_SLOT}' from the request's 'close' event when the reply ends`)
})

/** Takes the guard out of the routes added after this, leaving the plugin otherwise whole. */
function leaveOutGuard (app: FastifyInstance): { readonly removed: number } {
  const count = { removed: 0 }
  app.addHook('onRoute', (route) => {
    const hooks = route.onRequest === undefined ? [] : Array.isArray(route.onRequest) ? route.onRequest : [route.onRequest]
    const kept = hooks.filter((hook) => hook !== abortWhenClientGone)
    count.removed += hooks.length - kept.length
    route.onRequest = kept
  })
  return count
}

/**
 * POSTs a body to a route that waits for `request.signal`, then works on for twice the
 * deadline: what aborted the signal, and what the client got.
 */
async function postAndWaitForSignal (t: Test, timeoutMs: number, guard: boolean) {
  const { app } = await build(t, { timeoutMs })
  const left = guard ? undefined : leaveOutGuard(app)
  let reason: unknown
  app.post('/stories', async (request) => {
    await aborted(request.signal)
    reason = request.signal.reason
    await sleep(timeoutMs * 2)
    return { done: true }
  })
  const base = await listen(app)
  if (left !== undefined) t.equal(left.removed, 1, 'the guard was taken out of the route')
  const response = await post(`${base}/stories`, { title: 'A body' })
  // Fastify's deadline error is known by its code, a hang-up's AbortError (a DOMException, numeric code) by its name.
  const error = reason as { name?: string, code?: unknown } | undefined
  return { version: app.version, status: (response as { status: number }).status, reason: typeof error?.code === 'string' ? error.code : error?.name }
}

t.test('fastify#6725 is still there: without the guard a POST has request.signal aborted once its body is read and loses its deadline', async (t) => {
  const timeoutMs = 300
  const guarded = await postAndWaitForSignal(t, timeoutMs, true)
  t.same({ status: guarded.status, reason: guarded.reason }, { status: 504, reason: 'FST_ERR_HANDLER_TIMEOUT' },
    'with the guard the signal stays until the deadline, which answers 504')

  const unguarded = await postAndWaitForSignal(t, timeoutMs, false)
  t.same({ status: unguarded.status, reason: unguarded.reason }, { status: 200, reason: 'AbortError' },
    `Fastify ${unguarded.version} alone still aborts request.signal once a POST body is read, and drops its deadline; ` +
    'once it does not, fastify#6725 is fixed and the guard in src/client-gone.ts can go (with the fastify peer range raised to match)')
})
