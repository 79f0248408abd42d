import { cancelledError, isDataException } from '@muejam/db-pool'
import type { Kysely } from 'kysely'
import type { Database } from '../../db/database.js'
import { findStories, type StoryRow } from './repository.js'

interface Waiter {
  resolve (story: StoryRow | undefined): void
  reject (error: unknown): void
}

interface Batch {
  waiters: Map<string, Waiter[]>
  pending: number
  controller: AbortController
}

/**
 * Story reads by id, batched: every lookup made while the event loop runs one turn joins one
 * `id = any($1)` query, started after all of them arrived, so each answer is as fresh as a
 * query of its own. A popular story read by hundreds of clients at once costs one round trip
 * per turn instead of one per request. A waiter whose request aborts stops waiting; the query
 * itself is cancelled in PostgreSQL when every waiter of its batch has gone.
 *
 * When PostgreSQL refuses a value of the batch (SQLSTATE class 22, data exception), each id is
 * looked up alone, so only the waiters of the refused id get the error. Any other failure (an
 * outage, a timeout) is no id's fault and fails every waiter at once, without retries that
 * would multiply the load on a struggling database.
 */
export class StoryLoader {
  readonly #readerFor: (signal: AbortSignal) => Kysely<Database>
  #batch: Batch | null = null

  constructor (readerFor: (signal: AbortSignal) => Kysely<Database>) {
    this.#readerFor = readerFor
  }

  load (id: string, signal: AbortSignal): Promise<StoryRow | undefined> {
    if (signal.aborted) return Promise.reject(cancelledError(signal))
    let batch = this.#batch
    if (batch === null) {
      batch = this.#batch = { waiters: new Map(), pending: 0, controller: new AbortController() }
      setImmediate(() => this.#run(batch as Batch))
    }
    const current = batch
    // PostgreSQL reads a UUID in any case and answers it in lower case.
    const key = id.toLowerCase()
    return new Promise((resolve, reject) => {
      const onAbort = () => {
        reject(cancelledError(signal))
        if (--current.pending === 0) current.controller.abort()
      }
      const settled = () => signal.removeEventListener('abort', onAbort)
      const waiter: Waiter = {
        resolve: (story) => { settled(); resolve(story) },
        reject: (error) => { settled(); reject(error) }
      }
      const list = current.waiters.get(key)
      if (list === undefined) current.waiters.set(key, [waiter])
      else list.push(waiter)
      current.pending++
      signal.addEventListener('abort', onAbort, { once: true })
    })
  }

  #run (batch: Batch): Promise<void> {
    this.#batch = null
    return this.#settle(batch, [...batch.waiters.keys()])
  }

  /** Answers the waiters of `ids`, telling apart the id PostgreSQL refuses (see above). */
  async #settle (batch: Batch, ids: string[]): Promise<void> {
    let rows: StoryRow[]
    try {
      const signal = batch.controller.signal
      rows = signal.aborted ? [] : await findStories(this.#readerFor(signal), ids)
    } catch (error) {
      if (ids.length > 1 && isDataException(error)) {
        await Promise.all(ids.map((id) => this.#settle(batch, [id])))
      } else {
        for (const id of ids) for (const waiter of batch.waiters.get(id) ?? []) waiter.reject(error)
      }
      return
    }
    const byId = new Map(rows.map((row) => [row.id, row]))
    for (const id of ids) for (const waiter of batch.waiters.get(id) ?? []) waiter.resolve(byId.get(id))
  }
}
