import { setTimeout as sleep } from 'node:timers/promises'
import type { FastifyInstance, FastifyReply, FastifyRequest, RouteHandlerMethod } from 'fastify'
import type { IsolationLevel, AccessMode, Kysely, Transaction } from 'kysely'
import { isRetryableTransactionError } from './database-errors.js'

/** Route setting `config: { transaction: true | { isolationLevel, accessMode } }`. */
export interface TransactionRouteSettings {
  /** Default: the server's (`read committed`). */
  isolationLevel?: IsolationLevel
  accessMode?: AccessMode
}

export type TransactionRouteConfig = boolean | TransactionRouteSettings

export interface TransactionRouteOptions<DB> {
  retries: number
  /** The request's primary Kysely (bound to its signal). */
  dbOf (request: FastifyRequest): Kysely<DB>
  setTransaction (request: FastifyRequest, transaction: Transaction<DB> | null): void
}

/** Full jitter: a random wait up to 25 ms, 50 ms, 100 ms… so retries of colliding requests spread out. */
function backoffMs (attempt: number): number {
  return Math.random() * 25 * 2 ** attempt
}

/**
 * Runs a route's handler inside one transaction (`request.tx`): a throw rolls it back,
 * serialization failures and deadlocks run the whole handler again. The handler must
 * return its payload (not `reply.send()` it) so nothing is sent before the commit.
 */
export function inTransaction<DB> (handler: RouteHandlerMethod, config: TransactionRouteConfig, options: TransactionRouteOptions<DB>): RouteHandlerMethod {
  const settings: TransactionRouteSettings = typeof config === 'object' ? config : {}
  return async function transactionalHandler (this: FastifyInstance, request: FastifyRequest, reply: FastifyReply) {
    for (let attempt = 0; ; attempt++) {
      let builder = options.dbOf(request).transaction()
      if (settings.isolationLevel !== undefined) builder = builder.setIsolationLevel(settings.isolationLevel)
      if (settings.accessMode !== undefined) builder = builder.setAccessMode(settings.accessMode)
      try {
        return await builder.execute(async (transaction) => {
          options.setTransaction(request, transaction)
          try {
            return await handler.call(this, request, reply)
          } finally {
            options.setTransaction(request, null)
          }
        })
      } catch (error) {
        if (attempt >= options.retries || !isRetryableTransactionError(error) || reply.sent || request.signal.aborted) throw error
        request.log.debug({ attempt: attempt + 1, code: (error as { code?: string }).code }, 'retrying transaction')
        await sleep(backoffMs(attempt))
      }
    }
  }
}
