import type { FastifyBaseLogger, FastifyServerOptions } from 'fastify'

/** Fastify's `childLoggerFactory` server option. */
export type ChildLoggerFactory = NonNullable<FastifyServerOptions['childLoggerFactory']>

type Bindings = Parameters<FastifyBaseLogger['child']>[0]
type ChildOptions = NonNullable<Parameters<FastifyBaseLogger['child']>[1]>
type LogArguments = Parameters<FastifyBaseLogger['info']>
type Level = 'fatal' | 'error' | 'warn' | 'info' | 'debug' | 'trace'

/** What pino adds to Fastify's logger type: the check for a level being written. */
interface LevelAware {
  isLevelEnabled?: (level: string) => boolean
}

/**
 * A request's logger that becomes a real child of `parent` on its first line. Most requests
 * of a production service log nothing, and a pino child is not free: it serializes its
 * bindings and, with `redact` paths, runs the redaction over them.
 */
class LazyChildLogger implements FastifyBaseLogger {
  readonly #parent: FastifyBaseLogger
  readonly #bindings: Bindings
  readonly #options: ChildOptions
  #logger: FastifyBaseLogger | undefined

  constructor (parent: FastifyBaseLogger, bindings: Bindings, options: ChildOptions) {
    this.#parent = parent
    this.#bindings = bindings
    this.#options = options
  }

  #real (): FastifyBaseLogger {
    this.#logger ??= this.#parent.child(this.#bindings, this.#options)
    return this.#logger
  }

  /** Writes the line through the child, made now unless the level is off (then nothing is made). */
  #write (level: Level, args: LogArguments): void {
    if (this.#logger === undefined && this.#options.level === undefined &&
      (this.#parent as LevelAware).isLevelEnabled?.(level) === false) return
    const logger = this.#real()
    logger[level].apply(logger, args)
  }

  get level (): FastifyBaseLogger['level'] {
    return this.#logger?.level ?? this.#options.level ?? this.#parent.level
  }

  set level (level: FastifyBaseLogger['level']) {
    this.#real().level = level
  }

  fatal (...args: LogArguments): void { this.#write('fatal', args) }
  error (...args: LogArguments): void { this.#write('error', args) }
  warn (...args: LogArguments): void { this.#write('warn', args) }
  info (...args: LogArguments): void { this.#write('info', args) }
  debug (...args: LogArguments): void { this.#write('debug', args) }
  trace (...args: LogArguments): void { this.#write('trace', args) }
  silent (): void {}

  child (bindings: Bindings, options?: ChildOptions): FastifyBaseLogger {
    return this.#real().child(bindings, options)
  }
}

/**
 * Fastify's `childLoggerFactory`: each request's logger (`request.log`) is made when it first
 * writes a line, with the same bindings (`reqId`) and options, so the lines are unchanged and a
 * request that logs nothing costs no child logger.
 */
export const lazyChildLoggerFactory: ChildLoggerFactory = function lazyChildLoggerFactory (logger, bindings, options) {
  return new LazyChildLogger(logger, bindings, options)
}
