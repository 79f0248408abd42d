import type { FastifyBaseLogger } from 'fastify'

/** One security-relevant event. Extra members are written as they are: no secrets. */
export interface AuditEvent {
  /** Dotted name, e.g. `auth.failed`, `profile.created`, `story.deleted_by_moderator`. */
  event: string
  /** Who did it (a user id), `null` when unauthenticated. */
  actor?: string | null
  /** What it was done to (e.g. `story:<id>`, `user:<id>`). */
  target?: string | null
  outcome: 'success' | 'failure' | 'denied' | (string & {})
  [field: string]: unknown
}

/** What the audit log needs of a request: its id. */
export interface AuditRequest {
  id: string
}

export interface AuditLogOptions {
  /** Lines written per key per interval by `writeLimited`. */
  maxPerKey: number
  /** Length of a rate-limit window, in ms. */
  intervalMs: number
  /** Most keys tracked at once; beyond that, new keys share one window. */
  maxKeys: number
}

export interface AuditStats {
  /** Events submitted, written or suppressed, by event name. */
  events: Record<string, number>
  /** Events not written because their key was over its limit. */
  suppressed: number
}

interface Window {
  start: number
  written: number
  suppressed: number
  events: Record<string, number>
}

/** Key under which new keys are counted once `maxKeys` are tracked, so memory stays bounded. */
export const OVERFLOW_KEY = '*'

// pino's own members and the fixed audit members: an event cannot overwrite them.
const RESERVED = new Set(['audit', 'event', 'actor', 'target', 'outcome', 'request_id', 'level', 'time', 'pid', 'hostname', 'msg', 'reqId'])

/**
 * Writes audit lines through the host's logger: `{ audit: true, event, actor, target, outcome,
 * request_id, ... }` at info level, even when the service logs only warnings. `writeLimited`
 * lets at most `maxPerKey` lines per key through per interval and then writes one summary
 * line with the number suppressed, so a client cannot flood the disk.
 */
export class AuditLog {
  readonly stats: AuditStats = { events: Object.create(null) as Record<string, number>, suppressed: 0 }
  readonly #logger: FastifyBaseLogger
  readonly #options: AuditLogOptions
  readonly #windows = new Map<string, Window>()
  readonly #timer: NodeJS.Timeout

  constructor (logger: FastifyBaseLogger, options: AuditLogOptions) {
    // Audit lines are records, not diagnostics: they survive LOG_LEVEL=warn (not `silent`).
    this.#logger = logger.level === 'silent' ? logger : logger.child({}, { level: 'info' })
    this.#options = options
    this.#timer = setInterval(() => this.#sweep(false), options.intervalMs)
    this.#timer.unref()
  }

  write (event: AuditEvent, request?: AuditRequest | null): void {
    this.#count(event.event)
    this.#emit(event, request)
  }

  /** Writes the event unless `key` (e.g. a client IP) is over its limit; true when written. */
  writeLimited (key: string, event: AuditEvent, request?: AuditRequest | null): boolean {
    this.#count(event.event)
    return this.#limited(key, event, request)
  }

  /** Writes the summaries still pending and stops the sweep timer. */
  close (): void {
    clearInterval(this.#timer)
    this.#sweep(true)
  }

  #limited (key: string, event: AuditEvent, request?: AuditRequest | null): boolean {
    const now = performance.now()
    let window = this.#windows.get(key)
    if (window !== undefined && now - window.start >= this.#options.intervalMs) {
      this.#summarise(key, window)
      this.#windows.delete(key)
      window = undefined
    }
    if (window === undefined) {
      if (this.#windows.size >= this.#options.maxKeys && key !== OVERFLOW_KEY) {
        return this.#limited(OVERFLOW_KEY, event, request)
      }
      window = { start: now, written: 0, suppressed: 0, events: Object.create(null) as Record<string, number> }
      this.#windows.set(key, window)
    }
    if (window.written < this.#options.maxPerKey) {
      window.written++
      this.#emit(event, request)
      return true
    }
    window.suppressed++
    window.events[event.event] = (window.events[event.event] ?? 0) + 1
    this.stats.suppressed++
    return false
  }

  #count (name: string): void {
    this.stats.events[name] = (this.stats.events[name] ?? 0) + 1
  }

  #emit (event: AuditEvent, request?: AuditRequest | null): void {
    const line: Record<string, unknown> = {
      audit: true,
      event: event.event,
      actor: event.actor ?? null,
      target: event.target ?? null,
      outcome: event.outcome,
      request_id: request?.id ?? null
    }
    for (const key of Object.keys(event)) {
      if (!RESERVED.has(key)) line[key] = event[key]
    }
    this.#logger.info(line, 'audit')
  }

  #sweep (all: boolean): void {
    const now = performance.now()
    for (const [key, window] of this.#windows) {
      if (all || now - window.start >= this.#options.intervalMs) {
        this.#summarise(key, window)
        this.#windows.delete(key)
      }
    }
  }

  #summarise (key: string, window: Window): void {
    if (window.suppressed === 0) return
    this.#logger.info({
      audit: true,
      event: 'audit.suppressed',
      actor: null,
      target: key,
      outcome: 'suppressed',
      request_id: null,
      suppressed: window.suppressed,
      events: window.events,
      window_ms: this.#options.intervalMs
    }, `audit: ${window.suppressed} lines suppressed for one key`)
  }
}
