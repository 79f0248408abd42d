import { CompiledQuery, SelectQueryNode, type DatabaseConnection, type TransactionSettings } from 'kysely'

/** What a query knows about the request it runs for. */
export interface QueryScope {
  /** Aborted when the request's client goes away or its deadline passes. */
  readonly signal: AbortSignal | undefined
  /** Called before every query run on the primary; writes switch later reads to it. */
  noteQuery(query: CompiledQuery): void
}

/** A connection handed to Kysely for one unit of work, released afterwards. */
export interface ScopedConnection extends DatabaseConnection {
  begin(settings: TransactionSettings): Promise<void>
  commit(): Promise<void>
  rollback(): Promise<void>
  release(): void
}

/** Where connections come from: a pg pool, a set of replicas, the embedded database. */
export interface ConnectionSource {
  acquire(scope: QueryScope | null): Promise<ScopedConnection>
}

export interface PoolStats {
  /** `primary`, `replica-1`, `replica-2`, … */
  pool: string
  /** Open connections. */
  total: number
  /** Open connections not in use. */
  idle: number
  /** Callers queued for a connection. */
  waiting: number
}

/** A database the plugin owns: it answers for its gauges, its health and its closing. */
export interface OwnedDatabase extends ConnectionSource {
  readonly name: string
  stats(): PoolStats
  /** Resolves when the database answers `select 1`; rejects otherwise, or when `signal` aborts. */
  check(signal?: AbortSignal): Promise<void>
  close(): Promise<void>
}

/** Resolves when `source` answers `select 1`; rejects otherwise, or when `signal` aborts. */
export async function checkSource (source: ConnectionSource, signal?: AbortSignal): Promise<void> {
  const connection = await source.acquire(signal === undefined ? null : { signal, noteQuery () {} })
  try {
    await connection.executeQuery(CompiledQuery.raw('select 1'))
  } finally {
    connection.release()
  }
}

/** The statement that opens a transaction with Kysely's `settings`. */
export function beginStatement (settings: TransactionSettings): string {
  if (settings.isolationLevel === undefined && settings.accessMode === undefined) return 'begin'
  let sql = 'start transaction'
  if (settings.isolationLevel !== undefined) sql += ` isolation level ${settings.isolationLevel}`
  if (settings.accessMode !== undefined) sql += ` ${settings.accessMode}`
  return sql
}

const WRITE_KINDS = new Set(['InsertQueryNode', 'UpdateQueryNode', 'DeleteQueryNode', 'MergeQueryNode'])

/**
 * True for statements that may change data. Raw SQL counts as a write unless it is a plain
 * `select`: guessing wrong only costs a read on the primary.
 */
export function isWrite (query: CompiledQuery): boolean {
  const node = query.query
  if (WRITE_KINDS.has(node.kind)) return true
  if (SelectQueryNode.is(node)) {
    // `with x as (insert …) select …` writes too.
    return node.with?.expressions.some((cte) => cte.expression.kind !== 'SelectQueryNode') ?? false
  }
  return !/^\s*select\b/i.test(query.sql)
}
