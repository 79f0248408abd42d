import { cancelledError } from '@muejam/db-pool'
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
      const list = current.waiters.get(id)
      if (list === undefined) current.waiters.set(id, [waiter])
      else list.push(waiter)
      current.pending++
      signal.addEventListener('abort', onAbort, { once: true })
    })
  }

  async #run (batch: Batch): Promise<void> {
    this.#batch = null
    let rows: StoryRow[]
    try {
      rows = batch.controller.signal.aborted ? [] : await findStories(this.#readerFor(batch.controller.signal), [...batch.waiters.keys()])
    } catch (error) {
      for (const waiters of batch.waiters.values()) for (const waiter of waiters) waiter.reject(error)
      return
    }
    const byId = new Map(rows.map((row) => [row.id, row]))
    for (const [id, waiters] of batch.waiters) {
      for (const waiter of waiters) waiter.resolve(byId.get(id))
    }
  }
}
