import type { FastifyRequest } from 'fastify'
import type { CompiledQuery, Kysely } from 'kysely'
import { isWrite, type ConnectionSource, type QueryScope } from './connection.js'
import { createKysely } from './kysely-factory.js'

export interface ScopeSources {
  primary: ConnectionSource
  /** The replicas; the primary itself when there are none. */
  reader: ConnectionSource
}

/**
 * What the database layer keeps for one request: its signal (queries are cancelled when
 * it aborts) and whether it has written, after which its reads go to the primary.
 */
export class RequestScope<DB> implements QueryScope {
  wrote = false
  readonly #request: FastifyRequest
  readonly #sources: ScopeSources
  #db: Kysely<DB> | undefined
  #dbRead: Kysely<DB> | undefined

  constructor (request: FastifyRequest, sources: ScopeSources) {
    this.#request = request
    this.#sources = sources
  }

  get signal (): AbortSignal {
    return this.#request.signal
  }

  noteQuery (query: CompiledQuery): void {
    if (!this.wrote && isWrite(query)) this.wrote = true
  }

  get db (): Kysely<DB> {
    this.#db ??= createKysely<DB>(this.#sources.primary, this)
    return this.#db
  }

  get dbRead (): Kysely<DB> {
    const { primary, reader } = this.#sources
    if (reader === primary) return this.db
    this.#dbRead ??= createKysely<DB>({ acquire: (scope) => (this.wrote ? primary : reader).acquire(scope) }, this)
    return this.#dbRead
  }
}
