import {
  CompiledQuery, DefaultQueryExecutor, Kysely, PostgresAdapter, PostgresIntrospector, PostgresQueryCompiler,
  type ConnectionProvider, type DatabaseConnection, type Dialect, type Driver, type TransactionSettings
} from 'kysely'
import type { ConnectionSource, QueryScope, ScopedConnection } from './connection.js'

function quoteIdentifier (name: string): string {
  return `"${name.replaceAll('"', '""')}"`
}

/**
 * Kysely's view of the plugin's connections. It never opens or closes anything itself:
 * connections come from the connection provider and the pools close with Fastify.
 */
class ScopedDriver implements Driver {
  // Kysely initialises a driver only when it builds an instance from a dialect.
  /* c8 ignore next */
  async init (): Promise<void> {}

  // Unreachable: the connection provider acquires and releases connections itself.
  /* c8 ignore next 3 */
  async acquireConnection (): Promise<DatabaseConnection> {
    throw new Error('@muejam/db-pool hands out connections through its connection provider')
  }

  beginTransaction (connection: DatabaseConnection, settings: TransactionSettings): Promise<void> {
    return (connection as ScopedConnection).begin(settings)
  }

  commitTransaction (connection: DatabaseConnection): Promise<void> {
    return (connection as ScopedConnection).commit()
  }

  rollbackTransaction (connection: DatabaseConnection): Promise<void> {
    return (connection as ScopedConnection).rollback()
  }

  async savepoint (connection: DatabaseConnection, name: string): Promise<void> {
    await connection.executeQuery(CompiledQuery.raw(`savepoint ${quoteIdentifier(name)}`))
  }

  async rollbackToSavepoint (connection: DatabaseConnection, name: string): Promise<void> {
    await connection.executeQuery(CompiledQuery.raw(`rollback to savepoint ${quoteIdentifier(name)}`))
  }

  async releaseSavepoint (connection: DatabaseConnection, name: string): Promise<void> {
    await connection.executeQuery(CompiledQuery.raw(`release savepoint ${quoteIdentifier(name)}`))
  }

  /* c8 ignore next 3 */
  async releaseConnection (connection: DatabaseConnection): Promise<void> {
    (connection as ScopedConnection).release()
  }

  async destroy (): Promise<void> {}
}

class SourceConnectionProvider implements ConnectionProvider {
  readonly #source: ConnectionSource
  readonly #scope: QueryScope | null

  constructor (source: ConnectionSource, scope: QueryScope | null) {
    this.#source = source
    this.#scope = scope
  }

  async provideConnection<T> (consumer: (connection: DatabaseConnection) => Promise<T>): Promise<T> {
    const connection = await this.#source.acquire(this.#scope)
    try {
      return await consumer(connection)
    } finally {
      connection.release()
    }
  }
}

const driver = new ScopedDriver()
const adapter = new PostgresAdapter()
const compiler = new PostgresQueryCompiler()

const dialect: Dialect = {
  createIntrospector: (db) => new PostgresIntrospector(db),
  // Kysely calls these only when it builds an instance from the dialect, which
  // createKysely does itself.
  /* c8 ignore next 3 */
  createDriver: () => driver,
  createAdapter: () => adapter,
  createQueryCompiler: () => compiler
}

/**
 * A Kysely instance over `source`, bound to a request's scope (or to none). Cheap enough
 * to make per request: compiler, adapter and driver are shared.
 */
export function createKysely<DB> (source: ConnectionSource, scope: QueryScope | null): Kysely<DB> {
  const executor = new DefaultQueryExecutor(compiler, adapter, new SourceConnectionProvider(source, scope), [])
  return new Kysely<DB>({ config: { dialect }, dialect, driver, executor })
}
