import type { FastifyInstance } from 'fastify'
import type { Kysely } from 'kysely'
import type { Database } from './db/database.js'

export interface ModeratorLookupOptions {
  /** How long an answer is trusted, in ms. Default: 60000. */
  ttlMs?: number
  /** Users remembered at once; the least recently looked up are forgotten first. Default: 10000. */
  maxEntries?: number
}

interface Entry {
  active: Promise<boolean>
  expires: number
}

/**
 * Whether a Clerk user is an active moderator, asked of the database at most once per
 * `ttlMs` per user (concurrent askers share one query), in a bounded map.
 */
export class ModeratorLookup {
  /** Database queries made so far (for metrics and tests). */
  lookups = 0
  readonly #db: () => Kysely<Database>
  readonly #ttlMs: number
  readonly #maxEntries: number
  readonly #entries = new Map<string, Entry>()

  constructor (db: () => Kysely<Database>, { ttlMs = 60_000, maxEntries = 10_000 }: ModeratorLookupOptions = {}) {
    this.#db = db
    this.#ttlMs = ttlMs
    this.#maxEntries = maxEntries
  }

  isActive (clerkUserId: string): Promise<boolean> {
    const now = Date.now()
    const cached = this.#entries.get(clerkUserId)
    if (cached !== undefined && cached.expires > now) {
      // Map order doubles as recency order.
      this.#entries.delete(clerkUserId)
      this.#entries.set(clerkUserId, cached)
      return cached.active
    }
    this.lookups++
    const active = this.#query(clerkUserId)
    this.#entries.delete(clerkUserId)
    this.#entries.set(clerkUserId, { active, expires: now + this.#ttlMs })
    if (this.#entries.size > this.#maxEntries) this.#entries.delete(this.#entries.keys().next().value as string)
    // A failed lookup is not remembered.
    active.catch(() => this.#entries.delete(clerkUserId))
    return active
  }

  async #query (clerkUserId: string): Promise<boolean> {
    const row = await this.#db()
      .selectFrom('moderator_roles as m')
      .innerJoin('user_profiles as p', 'p.id', 'm.user_id')
      .select('m.id')
      .where('p.clerk_user_id', '=', clerkUserId)
      .where('m.is_active', '=', true)
      .limit(1)
      .executeTakeFirst()
    return row !== undefined
  }
}

declare module 'fastify' {
  interface FastifyInstance {
    /** Active-moderator lookups, cached per user (SPEC §6: at most once a minute). */
    moderators: ModeratorLookup
  }
}

export function registerModerators (app: FastifyInstance, options?: ModeratorLookupOptions): void {
  app.decorate('moderators', new ModeratorLookup(() => app.dbRead, options))
}
