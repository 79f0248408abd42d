import type { FastifyReply, FastifyRequest, HookHandlerDoneFunction, RouteOptions } from 'fastify'

/*
 * With a deadline set, Fastify 5.12 aborts `request.signal` (and stops the deadline timer)
 * on the request's 'close' event. Node also emits that event once a request body has been
 * read to its end, so every request with a body looked abandoned before its handler ran:
 * its database queries were cancelled and its deadline was gone (fastify/fastify#6725).
 * For those requests the listener Fastify adds is swapped for one that aborts only when
 * the client is really gone: the request closed before it was complete, or the response
 * closed before it was finished. Requests without a body keep Fastify's listener, which
 * is right for them.
 */

/** The request property where Fastify keeps that listener (removed again when the reply ends). */
const ON_ABORT = 'fastify.request.onAbort'
let onAbortKey: symbol | undefined

function listenerKey (request: FastifyRequest): symbol | undefined {
  onAbortKey ??= Object.getOwnPropertySymbols(request).find((key) => key.description === ON_ABORT)
  return onAbortKey
}

function abortWhenClientGone (request: FastifyRequest, reply: FastifyReply, done: HookHandlerDoneFunction): void {
  const headers = request.headers
  if (headers['content-length'] === undefined && headers['transfer-encoding'] === undefined) {
    done()
    return
  }
  const key = listenerKey(request)
  const slots = request as unknown as Record<symbol, unknown>
  /* c8 ignore next 4 -- only a Fastify release that no longer keeps the listener there gets here; its own behaviour then stays */
  if (key === undefined || typeof slots[key] !== 'function') {
    done()
    return
  }
  const abort = slots[key] as () => void
  const incoming = request.raw
  const outgoing = reply.raw
  const onRequestClose = () => {
    if (!incoming.complete) abort()
  }
  incoming.removeListener('close', abort)
  incoming.on('close', onRequestClose)
  slots[key] = onRequestClose
  outgoing.once('close', () => {
    if (!outgoing.writableFinished) abort()
  })
  done()
}

/** Puts the guard first among the route's own onRequest hooks. */
export function guardClientGone (route: RouteOptions): void {
  const existing = route.onRequest
  if (existing === undefined) route.onRequest = [abortWhenClientGone]
  else route.onRequest = [abortWhenClientGone, ...(Array.isArray(existing) ? existing : [existing])]
}
