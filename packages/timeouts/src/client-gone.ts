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

/**
 * The description of the private symbol under which Fastify keeps that listener on the
 * request, and removes it from the request's 'close' again when the reply ends. A test
 * checks that this Fastify still keeps it there.
 */
export const ON_ABORT_SLOT = 'fastify.request.onAbort'
let onAbortKey: symbol | undefined

/** The symbol of Fastify's abort-listener slot on `request`, if this Fastify has one. */
export function abortListenerKey (request: FastifyRequest): symbol | undefined {
  onAbortKey ??= Object.getOwnPropertySymbols(request).find((key) => key.description === ON_ABORT_SLOT)
  return onAbortKey
}

/** The onRequest hook; exported so a test can leave it out and show what Fastify does alone. */
export function abortWhenClientGone (request: FastifyRequest, reply: FastifyReply, done: HookHandlerDoneFunction): void {
  const headers = request.headers
  if (headers['content-length'] === undefined && headers['transfer-encoding'] === undefined) {
    done()
    return
  }
  const key = abortListenerKey(request)
  const slots = request as unknown as Record<symbol, unknown>
  /* c8 ignore next 4 -- only a Fastify release that no longer keeps the listener there gets here (test/client-gone-guard.test.ts then fails); its own behaviour stays */
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
