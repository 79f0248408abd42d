import type { ErrorEvent, NodeClient, Scope } from '@sentry/node'
import { assertInstalled, importOptionalPeer } from './optional-peer.js'
import { redactDeep, type SecretRedactor } from './redact.js'

type SentryModule = typeof import('@sentry/node')

/** The optional peer error reporting loads. */
export const SENTRY_MODULE = '@sentry/node'
const FEATURE = 'Error reporting (@muejam/observability option sentryDsn)'

export interface ErrorReporterOptions {
  dsn: string
  environment?: string | undefined
  release?: string | undefined
  /** Longest wait for pending events when flushing (close, crash), in ms. */
  flushTimeoutMs: number
  redactor: SecretRedactor
  /** Module loaded for reporting; another name only to test a missing installation. Default `@sentry/node`. */
  sentryModule?: string
}

/** What a report says about the request that failed. */
export interface ReportedRequest {
  id: string
  method: string
  /** Route pattern, never the raw URL. */
  route: string
  status: number
  userId: string | null
  /** More tags from the host (the `sentryTags` option), under the ones above. */
  tags?: Readonly<Record<string, string>> | null | undefined
}

const active = new Set<ErrorReporter>()

/**
 * Removes whatever could carry a credential, a cookie or a body — whoever added it (another
 * Sentry set-up in the host can add request data through global event processors) — and
 * keeps only the user id. The route, method and request id travel as tags.
 */
function scrub (event: ErrorEvent, redactor: SecretRedactor): ErrorEvent {
  delete event.request
  delete event.breadcrumbs
  if (event.user !== undefined) event.user = event.user.id === undefined ? {} : { id: event.user.id }
  return redactDeep(event, redactor)
}

/**
 * Reports 5xx errors and crashes to Sentry through a client of its own: no global
 * `Sentry.init`, so two apps in one process do not clash and the host's own Sentry set-up
 * (if any) is untouched. No tracing, no OpenTelemetry, no module-load instrumentation, no
 * HTTP integrations: nothing runs on the request path; a report is built only on error.
 */
export class ErrorReporter {
  readonly #options: ErrorReporterOptions
  #sentry: Promise<{ client: NodeClient, scope: Scope }> | null = null
  #closed = false

  private constructor (options: ErrorReporterOptions) {
    this.#options = options
  }

  /** Throws `MissingPeerError` when `@sentry/node` is not installed: at start-up, not at the first error. */
  static async create (options: ErrorReporterOptions): Promise<ErrorReporter> {
    assertInstalled(options.sentryModule ?? SENTRY_MODULE, FEATURE)
    const reporter = new ErrorReporter(options)
    active.add(reporter)
    return reporter
  }

  /**
   * The SDK is loaded at the first report, not at start-up: it costs ~40 MB of memory that
   * a healthy process never needs, and a report can wait the few milliseconds it takes.
   */
  #load (): Promise<{ client: NodeClient, scope: Scope }> {
    this.#sentry ??= importOptionalPeer<SentryModule>(this.#options.sentryModule ?? SENTRY_MODULE, FEATURE).then((Sentry) => {
      const { redactor } = this.#options
      const client = new Sentry.NodeClient({
        dsn: this.#options.dsn,
        environment: this.#options.environment,
        release: this.#options.release,
        transport: Sentry.makeNodeTransport,
        stackParser: Sentry.defaultStackParser,
        // Only what makes an error readable; none of these touch requests or headers. No
        // dedupe: two requests failing the same way are two occurrences, and every capture
        // here is explicit (an error object is never sent twice: the SDK marks it).
        integrations: [
          Sentry.linkedErrorsIntegration(),
          Sentry.nodeContextIntegration({ device: false, culture: false, cloudResource: false }),
          Sentry.contextLinesIntegration()
        ],
        // v11's replacement for `sendDefaultPii: false`: collect no user info, cookies,
        // headers, query strings, bodies or local variables.
        dataCollection: {
          userInfo: false,
          cookies: false,
          httpHeaders: false,
          httpBodies: [],
          urlQueryParams: false,
          stackFrameVariables: false,
          databaseQueryData: false,
          queues: false
        },
        enableOpenTelemetrySetup: false,
        enableRuntimeChannelInjection: false,
        sendClientReports: false,
        maxBreadcrumbs: 0,
        beforeSend: (event) => scrub(event, redactor)
      })
      client.init()
      const scope = new Sentry.Scope()
      scope.setClient(client)
      return { client, scope }
    })
    return this.#sentry
  }

  /** Sends one event for an error; `request` adds its id, route, method, status and user id. */
  capture (error: unknown, request?: ReportedRequest | null): void {
    if (this.#closed) return
    this.#load().then(({ scope: base }) => {
      const scope = base.clone()
      if (request !== undefined && request !== null) {
        scope.setTags({ ...request.tags, request_id: request.id, route: request.route, method: request.method, status: request.status })
        scope.setTransactionName(`${request.method} ${request.route}`)
        if (request.userId !== null) scope.setUser({ id: request.userId })
      }
      scope.captureException(error)
    }, () => {})
  }

  /** Reports a crash (uncaught exception, unhandled rejection) and waits for it to be sent. */
  async captureCrash (error: unknown): Promise<boolean> {
    const { client, scope: base } = await this.#load()
    const scope = base.clone()
    scope.setLevel('fatal')
    scope.setTag('crash', true)
    scope.captureException(error, { mechanism: { type: 'onuncaughtexception', handled: false } })
    return await client.flush(this.#options.flushTimeoutMs)
  }

  /** Sends what is pending (bounded by the flush timeout) and stops reporting. */
  async close (): Promise<boolean> {
    active.delete(this)
    this.#closed = true
    if (this.#sentry === null) return true
    const { client } = await this.#sentry
    return await client.close(this.#options.flushTimeoutMs)
  }
}

/**
 * For the server's `uncaughtException` / `unhandledRejection` handling: reports the crash
 * through every registered observability plugin that has a DSN and waits until it is sent
 * (or the flush timeout passes). Resolves `false` when nothing could report it.
 */
export async function captureCrash (error: unknown): Promise<boolean> {
  if (active.size === 0) return false
  const sent = await Promise.all([...active].map((reporter) => reporter.captureCrash(error)))
  return sent.every(Boolean)
}
