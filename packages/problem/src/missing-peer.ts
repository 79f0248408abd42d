import createError, { type FastifyError } from '@fastify/error'
import { codePrefix } from './option-error.js'

/** What `createMissingPeerError` returns: a feature was asked for, and the peer it needs is not installed. */
export interface MissingPeerError extends FastifyError {
  readonly code: string
  readonly statusCode: 500
}

export interface MissingPeerErrorConstructor {
  new (feature: string, moduleName: string): MissingPeerError
  readonly prototype: MissingPeerError
  /** `MUEJAM_<PKG>_MISSING_PEER`, the code every instance carries. */
  readonly code: string
}

/**
 * The `MissingPeerError` class of one package: `new MissingPeerError(feature, moduleName)`,
 * code `MUEJAM_<PKG>_MISSING_PEER`, message
 * `<feature> needs the optional peer dependency <moduleName>, which is not installed: run \`npm install <moduleName>\``.
 */
export function createMissingPeerError (packageName: string): MissingPeerErrorConstructor {
  if (typeof packageName !== 'string' || codePrefix(packageName) === '') {
    throw new TypeError('createMissingPeerError needs the package name, such as "@muejam/db-pool"')
  }
  const code = `${codePrefix(packageName)}_MISSING_PEER`
  const Base = createError<[string, string, string]>(
    code,
    '%s needs the optional peer dependency %s, which is not installed: run `npm install %s`',
    500
  )
  class MissingPeerError extends Base {
    static readonly code = code
    constructor (feature: string, moduleName: string) {
      super(feature, moduleName, moduleName)
      this.name = 'MissingPeerError'
      Error.captureStackTrace(this, MissingPeerError)
    }
  }
  return MissingPeerError as unknown as MissingPeerErrorConstructor
}

/**
 * Whether `error`, thrown by `import(moduleName)` or `import.meta.resolve(moduleName)`,
 * says that `moduleName` itself is not installed. A dependency missing inside an installed
 * package is another fault, and is not this. The import itself stays in the caller: a
 * name resolves from the importing file, and under pnpm this package cannot see its
 * callers' peers.
 */
export function isModuleNotFound (error: unknown, moduleName: string): boolean {
  if (error === null || typeof error !== 'object') return false
  const { code, message } = error as { code?: unknown, message?: unknown }
  if (typeof message !== 'string') return false
  // Module loader hooks (TypeScript runners) may rethrow Node's error without its code.
  return (code === 'ERR_MODULE_NOT_FOUND' || message.startsWith('Cannot find')) && message.includes(`'${moduleName}'`)
}
