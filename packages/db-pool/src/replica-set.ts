import type { ConnectionSource, QueryScope, ScopedConnection } from './connection.js'
import type { PgEndpoint } from './pg-endpoint.js'

export interface ReplicaSetSettings {
  replicas: PgEndpoint[]
  primary: ConnectionSource
  /** How long a failed replica stays out of rotation. */
  retryMs: number
  onReplicaDown (replica: string, error: unknown): void
}

/**
 * Reads round-robin over the replicas that are up. A replica that fails to connect, or
 * whose connection breaks under a read, leaves the rotation for `retryMs` and the read
 * goes to the next one, finally to the primary.
 */
export class ReplicaSet implements ConnectionSource {
  readonly #replicas: PgEndpoint[]
  readonly #primary: ConnectionSource
  readonly #retryMs: number
  readonly #onReplicaDown: ReplicaSetSettings['onReplicaDown']
  readonly #downUntil: number[]
  #next = 0

  constructor ({ replicas, primary, retryMs, onReplicaDown }: ReplicaSetSettings) {
    this.#replicas = replicas
    this.#primary = primary
    this.#retryMs = retryMs
    this.#onReplicaDown = onReplicaDown
    this.#downUntil = replicas.map(() => 0)
  }

  /** Names of the replicas currently in rotation. */
  inRotation (): string[] {
    const now = Date.now()
    return this.#replicas.filter((_, index) => (this.#downUntil[index] as number) <= now).map((replica) => replica.name)
  }

  #markDown (index: number, error: unknown): void {
    this.#downUntil[index] = Date.now() + this.#retryMs
    this.#onReplicaDown((this.#replicas[index] as PgEndpoint).name, error)
  }

  async acquire (scope: QueryScope | null): Promise<ScopedConnection> {
    const count = this.#replicas.length
    const start = this.#next
    this.#next = (start + 1) % count
    const now = Date.now()
    for (let step = 0; step < count; step++) {
      const index = (start + step) % count
      if ((this.#downUntil[index] as number) > now) continue
      const replica = this.#replicas[index] as PgEndpoint
      // A replica that is merely busy queues like the primary would, and is not marked down.
      const busy = replica.saturated
      try {
        return await replica.acquire(scope, {
          source: this.#primary,
          onFailure: (error) => this.#markDown(index, error)
        })
      } catch (error) {
        // A cancelled request says nothing about the replica.
        if (scope?.signal?.aborted === true || busy) throw error
        this.#markDown(index, error)
      }
    }
    return this.#primary.acquire(scope)
  }
}
