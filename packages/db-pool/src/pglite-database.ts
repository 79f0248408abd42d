import { access, mkdir } from 'node:fs/promises'
import { join, resolve } from 'node:path'
import type { PGlite, Results } from '@electric-sql/pglite'
import { AbortedTransactionError, type CompiledQuery, type QueryResult, type TransactionSettings } from 'kysely'
import { beginStatement, checkSource, type OwnedDatabase, type PoolStats, type QueryScope, type ScopedConnection } from './connection.js'
import { cancelledError, toClientError } from './database-errors.js'
import { startParamsWith } from './embedded-settings.js'
import { DbUnavailableError } from './errors.js'
import { importOptionalPeer } from './optional-peer.js'
import { initdbInChildProcess } from './pglite-initdb.js'
import { compileWasmWithBaselineOnly } from './wasm-compiler.js'

/** The optional peer the embedded database loads. */
export const PGLITE_MODULE = '@electric-sql/pglite'

export interface PGliteDatabaseSettings {
  dataDir: string
  /** PostgreSQL settings given at every start, `-c name=value`. */
  settings: Readonly<Record<string, string>>
  /** Let V8 optimize PGlite's WebAssembly; `false` sets `--liftoff-only` process-wide. Default: false. */
  wasmTierUp?: boolean
  connectTimeoutMs: number
  retryAfterSeconds: number
  /** Module loaded for the database; another name only to test a missing installation. Default `@electric-sql/pglite`. */
  pgliteModule?: string
}

const MEMORY = 'memory://'
const STARTUP_FAILURE = /\b(FATAL|PANIC|ERROR):/
const TRANSACTION_START = /^\s*(begin|start\s+transaction)\b/i
const TRANSACTION_END = /^\s*(commit|end|rollback|abort)\b(?!\s+to\b)/i
const CHANGING_KINDS = new Set(['InsertQueryNode', 'UpdateQueryNode', 'DeleteQueryNode', 'MergeQueryNode'])

function exists (path: string): Promise<boolean> {
  return access(path).then(() => true, () => false)
}

interface Waiter {
  grant (): void
}

/**
 * The embedded database: one PGlite instance is one session, so one unit of work (a query
 * or a whole transaction) holds it at a time and the others queue — for at most
 * `connectTimeoutMs`, like a pool. PGlite runs a query to its end inside the event loop:
 * an aborted request stops before its next query, not in the middle of one, and there is
 * no statement timeout.
 */
export class PGliteDatabase implements OwnedDatabase {
  readonly name = 'primary'
  /**
   * Settles when the database is open (or failed to open). Opening takes seconds the first
   * time (initdb), longer than a plugin may take to register: the plugin awaits this in
   * `onReady` instead, so `ready()` and `listen()` still fail when it cannot open.
   */
  readonly ready: Promise<void>
  #db: PGlite | undefined
  readonly #settings: PGliteDatabaseSettings
  readonly #queue: Waiter[] = []
  #busy = false
  #closing: Promise<void> | undefined

  constructor (settings: PGliteDatabaseSettings) {
    this.#settings = settings
    this.ready = this.#open()
    // Reported through `ready`; no unhandled rejection meanwhile.
    this.ready.catch(() => {})
  }

  async #open (): Promise<void> {
    const onDisk = !this.#settings.dataDir.startsWith(MEMORY)
    const dataDir = onDisk ? resolve(this.#settings.dataDir) : this.#settings.dataDir
    if (onDisk) await mkdir(dataDir, { recursive: true })
    const moduleName = this.#settings.pgliteModule ?? PGLITE_MODULE
    const baselineWasm = this.#settings.wasmTierUp !== true
    if (baselineWasm) compileWasmWithBaselineOnly()
    const { PGlite } = await importOptionalPeer<typeof import('@electric-sql/pglite')>(
      moduleName, 'The embedded database (@muejam/db-pool option embedded)')
    if (onDisk && !await exists(join(dataDir, 'PG_VERSION'))) {
      await initdbInChildProcess({ moduleUrl: import.meta.resolve(moduleName), dataDir, baselineWasm })
    }
    // PGlite's own error says only that it failed to start; PostgreSQL says why on stderr.
    const startFailures: string[] = []
    const db = new PGlite(dataDir, {
      startParams: startParamsWith(PGlite.defaultStartParams, this.#settings.settings),
      onStderr: (line: string) => {
        if (this.#db === undefined && STARTUP_FAILURE.test(line)) startFailures.push(line.slice(line.search(STARTUP_FAILURE)))
        return false
      }
    })
    try {
      await db.waitReady
    } catch (error) {
      if (startFailures.length === 0) throw error
      throw new Error(`the embedded database did not start: ${startFailures.slice(-3).join('; ')}`, { cause: error })
    }
    this.#db = db
  }

  async acquire (scope: QueryScope | null): Promise<ScopedConnection> {
    await this.ready
    const db = this.#db as PGlite
    const signal = scope?.signal
    if (signal?.aborted) throw cancelledError(signal)
    const connection = () => new PGliteConnection(db, scope, () => this.#handOver())
    if (!this.#busy) {
      this.#busy = true
      return connection()
    }
    return new Promise((resolve, reject) => {
      const leave = () => {
        const index = this.#queue.indexOf(waiter)
        if (index !== -1) this.#queue.splice(index, 1)
        clearTimeout(timer)
        signal?.removeEventListener('abort', onAbort)
      }
      const waiter: Waiter = {
        grant: () => {
          leave()
          resolve(connection())
        }
      }
      const timer = setTimeout(() => {
        leave()
        reject(new DbUnavailableError(this.#settings.retryAfterSeconds, { cause: new Error(`the embedded database stayed busy for ${this.#settings.connectTimeoutMs} ms`) }))
      }, this.#settings.connectTimeoutMs)
      const onAbort = () => {
        leave()
        reject(cancelledError(signal as AbortSignal))
      }
      signal?.addEventListener('abort', onAbort, { once: true })
      this.#queue.push(waiter)
    })
  }

  #handOver (): void {
    const next = this.#queue[0]
    if (next === undefined) this.#busy = false
    else next.grant()
  }

  stats (): PoolStats {
    return { pool: this.name, total: 1, idle: this.#busy ? 0 : 1, waiting: this.#queue.length }
  }

  check (signal?: AbortSignal): Promise<void> {
    return checkSource(this, signal)
  }

  close (): Promise<void> {
    this.#closing ??= this.ready.then(() => (this.#db as PGlite).close(), () => {})
    return this.#closing
  }
}

class PGliteConnection implements ScopedConnection {
  readonly #db: PGlite
  readonly #scope: QueryScope | null
  readonly #release: () => void
  #inTransaction = false

  constructor (db: PGlite, scope: QueryScope | null, release: () => void) {
    this.#db = db
    this.#scope = scope
    this.#release = release
  }

  async executeQuery<R> (query: CompiledQuery): Promise<QueryResult<R>> {
    const signal = this.#scope?.signal
    if (signal?.aborted) throw cancelledError(signal)
    this.#scope?.noteQuery(query)
    let result: Results<R>
    try {
      result = await this.#db.query<R>(query.sql, query.parameters as unknown[])
    } catch (error) {
      throw toClientError(error)
    }
    // PGlite does not report the session's transaction status; raw SQL that opens or ends
    // one is tracked so a release never hands an open transaction to the next caller.
    if (query.query.kind === 'RawNode') {
      if (TRANSACTION_START.test(query.sql)) this.#inTransaction = true
      else if (TRANSACTION_END.test(query.sql)) this.#inTransaction = false
    }
    return {
      numAffectedRows: CHANGING_KINDS.has(query.query.kind) ? BigInt(result.affectedRows as number) : undefined,
      rows: result.rows
    }
  }

  streamQuery (): never {
    throw new Error('@muejam/db-pool does not stream query results; page with limit and a cursor instead')
  }

  async begin (settings: TransactionSettings): Promise<void> {
    await this.#control(beginStatement(settings))
    this.#inTransaction = true
  }

  async commit (): Promise<void> {
    this.#inTransaction = false
    const result = await this.#control('commit')
    if ((result as { command?: string }).command === 'ROLLBACK') throw new AbortedTransactionError()
  }

  async rollback (): Promise<void> {
    this.#inTransaction = false
    await this.#db.query('rollback').catch(() => {})
  }

  /** Called once per checkout by the connection provider. */
  release (): void {
    // Nothing else may run inside a transaction someone abandoned.
    if (this.#inTransaction) {
      this.#inTransaction = false
      this.#db.query('rollback').catch(() => {}).finally(this.#release)
      return
    }
    this.#release()
  }

  async #control (sql: string): Promise<Results> {
    try {
      return await this.#db.query(sql)
    } catch (error) {
      throw toClientError(error)
    }
  }
}
