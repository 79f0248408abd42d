import type { Kysely } from 'kysely'
import type { Database } from './db/database.js'

function activeRole (db: Kysely<Database>, clerkUserId: string) {
  return db
    .selectFrom('moderator_roles as m')
    .innerJoin('user_profiles as p', 'p.id', 'm.user_id')
    .select('m.id')
    .where('p.clerk_user_id', '=', clerkUserId)
    .where('m.is_active', '=', true)
    .limit(1)
}

/**
 * Whether a Clerk user is an active moderator now, for authorisation: ask it of the primary
 * (`request.db`), never of a replica or a cache. The role row is share-locked, so inside a
 * transaction a revocation made meanwhile waits until the transaction ends.
 */
export async function isActiveModerator (db: Kysely<Database>, clerkUserId: string): Promise<boolean> {
  return await activeRole(db, clerkUserId).forShare('m').executeTakeFirst() !== undefined
}

export interface ModeratorLookupOptions {
  /** How long an answer is trusted, in ms. Default: 60000. */
  ttlMs?: number
  /** How long a failed lookup counts as "not a moderator" before the database is asked again, in ms. Default: 5000. */
  failureTtlMs?: number
  /** Longest a lookup may run before it is cancelled (and fails), in ms. Default: 5000. */
  queryTimeoutMs?: number
  /** Users remembered at once; the least recently looked up are forgotten first. Default: 10000. */
  maxEntries?: number
}

interface Entry {
  /** The answer, once the lookup has settled (a failure answers false). */
  active: boolean | undefined
  /** The lookup; it rejects when the query fails. */
  lookup: Promise<boolean>
  started: number
  /** When a settled answer stops being trusted. */
  expires: number
}

function noop () {}

/** `lookup`'s answer if it comes within `waitMs`, else `false`. */
function answerWithin (lookup: Promise<boolean>, waitMs: number): Promise<boolean> {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(resolve, waitMs, false)
    lookup.then((active) => {
      clearTimeout(timer)
      resolve(active)
    }, (error: unknown) => {
      clearTimeout(timer)
      reject(error)
    })
  })
}

/**
 * The rate limiter's moderator exemption: whether a Clerk user is an active moderator, asked
 * of the read pool at most once per `ttlMs` per user (concurrent askers share one query), in
 * a bounded map. Never for authorisation (`isActiveModerator` is): a cached answer may be
 * a minute old.
 */
export class ModeratorLookup {
  /** Database queries made so far (for metrics and tests). */
  lookups = 0
  /** Queries that failed or were cancelled. */
  failures = 0
  readonly #db: (signal: AbortSignal) => Kysely<Database>
  readonly #ttlMs: number
  readonly #failureTtlMs: number
  readonly #queryTimeoutMs: number
  readonly #maxEntries: number
  readonly #entries = new Map<string, Entry>()

  constructor (db: (signal: AbortSignal) => Kysely<Database>, { ttlMs = 60_000, failureTtlMs = 5000, queryTimeoutMs = 5000, maxEntries = 10_000 }: ModeratorLookupOptions = {}) {
    this.#db = db
    this.#ttlMs = ttlMs
    this.#failureTtlMs = failureTtlMs
    this.#queryTimeoutMs = queryTimeoutMs
    this.#maxEntries = maxEntries
  }

  /**
   * A known answer at once; otherwise the lookup's answer if it comes within `waitMs` of the
   * lookup's start, else `false` (the lookup goes on and fills the cache). Rejects only for
   * askers still waiting when the lookup fails; the failure then answers `false` for
   * `failureTtlMs`.
   */
  isExempt (clerkUserId: string, waitMs: number): boolean | Promise<boolean> {
    const now = Date.now()
    let entry = this.#entries.get(clerkUserId)
    if (entry === undefined || (entry.active !== undefined && entry.expires <= now)) {
      entry = this.#start(clerkUserId, now)
    } else {
      // Map order doubles as recency order.
      this.#entries.delete(clerkUserId)
      this.#entries.set(clerkUserId, entry)
    }
    if (entry.active !== undefined) return entry.active
    const left = entry.started + waitMs - now
    return left > 0 ? answerWithin(entry.lookup, left) : false
  }

  #start (clerkUserId: string, now: number): Entry {
    this.lookups++
    const entry: Entry = { active: undefined, lookup: Promise.resolve(false), started: now, expires: Infinity }
    entry.lookup = this.#query(clerkUserId).then((active) => {
      entry.active = active
      entry.expires = Date.now() + this.#ttlMs
      return active
    }, (error: unknown) => {
      this.failures++
      entry.active = false
      entry.expires = Date.now() + this.#failureTtlMs
      throw error
    })
    // Nobody may be waiting when it fails.
    entry.lookup.catch(noop)
    this.#entries.delete(clerkUserId)
    this.#entries.set(clerkUserId, entry)
    if (this.#entries.size > this.#maxEntries) this.#entries.delete(this.#entries.keys().next().value as string)
    return entry
  }

  async #query (clerkUserId: string): Promise<boolean> {
    const db = this.#db(AbortSignal.timeout(this.#queryTimeoutMs))
    return await activeRole(db, clerkUserId).executeTakeFirst() !== undefined
  }
}
