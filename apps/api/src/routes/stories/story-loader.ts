import { cancelledError, isDataException } from '@muejam/db-pool'
import type { Kysely } from 'kysely'
import type { Database } from '../../db/database.js'
import { findStories, type StoryRow } from './repository.js'

/** How long a batch's query runs before its waiters listen for their requests' aborts. */
const WATCH_AFTER_MS = 5

interface Waiter {
  signal: AbortSignal
  resolve (story: StoryRow | undefined): void
  reject (error: unknown): void
  /** Answered, or gone: nothing more is sent to it. */
  done: boolean
  onAbort: (() => void) | null
}

interface Batch {
  waiters: Map<string, Waiter[]>
  /** Waiters still waiting; the query is cancelled when it falls to 0. */
  pending: number
  controller: AbortController
}

/**
 * Story reads by id, batched: every lookup made while the event loop runs one turn joins one
 * `id = any($1)` query, started after all of them arrived, so each answer is as fresh as a
 * query of its own. A popular story read by hundreds of clients at once costs one round trip
 * per turn instead of one per request.
 *
 * A waiter whose request aborts stops waiting, and the query itself is cancelled in
 * PostgreSQL when every waiter of its batch has gone. A waiter listens for that only once its
 * batch's query has run for `WATCH_AFTER_MS`: a quick read (nearly all of them) never pays for
 * the listeners, and a request that aborts earlier is answered when the read ends.
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
      const started = batch
      setImmediate(() => this.#run(started))
    }
    // PostgreSQL reads a UUID in any case and answers it in lower case.
    const key = id.toLowerCase()
    const waiters = batch.waiters
    batch.pending++
    return new Promise((resolve, reject) => {
      const waiter: Waiter = { signal, resolve, reject, done: false, onAbort: null }
      const list = waiters.get(key)
      if (list === undefined) waiters.set(key, [waiter])
      else list.push(waiter)
    })
  }

  async #run (batch: Batch): Promise<void> {
    this.#batch = null
    // Waiters gone before the query starts leave now; when none is left, nothing is queried.
    for (const waiters of batch.waiters.values()) for (const waiter of waiters) if (waiter.signal.aborted) leave(batch, waiter)
    const watch = setTimeout(watchAborts, WATCH_AFTER_MS, batch)
    try {
      await this.#settle(batch, [...batch.waiters.keys()])
    } finally {
      clearTimeout(watch)
    }
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
        for (const id of ids) for (const waiter of batch.waiters.get(id) ?? []) answer(waiter, error, undefined)
      }
      return
    }
    const byId = new Map(rows.map((row) => [row.id, row]))
    for (const id of ids) for (const waiter of batch.waiters.get(id) ?? []) answer(waiter, null, byId.get(id))
  }
}

/** The query outlasted `WATCH_AFTER_MS`: each waiter still waiting leaves as its request aborts. */
function watchAborts (batch: Batch): void {
  for (const waiters of batch.waiters.values()) {
    for (const waiter of waiters) {
      if (waiter.done) continue
      if (waiter.signal.aborted) {
        leave(batch, waiter)
      } else {
        waiter.onAbort = () => leave(batch, waiter)
        waiter.signal.addEventListener('abort', waiter.onAbort, { once: true })
      }
    }
  }
}

function leave (batch: Batch, waiter: Waiter): void {
  if (waiter.done) return
  waiter.done = true
  waiter.reject(cancelledError(waiter.signal))
  if (--batch.pending === 0) batch.controller.abort()
}

function answer (waiter: Waiter, error: unknown, story: StoryRow | undefined): void {
  if (waiter.done) return
  waiter.done = true
  if (waiter.onAbort !== null) waiter.signal.removeEventListener('abort', waiter.onAbort)
  if (waiter.signal.aborted) waiter.reject(cancelledError(waiter.signal))
  else if (error !== null) waiter.reject(error)
  else waiter.resolve(story)
}
