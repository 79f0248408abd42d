import { MissingPeerError } from './errors.js'

function isMissing (error: unknown, moduleName: string): boolean {
  const { code, message } = error as { code?: unknown, message?: unknown }
  // Only the package itself: a dependency missing inside an installed package is another
  // fault. Module loader hooks (TypeScript runners) may rethrow Node's error without its code.
  return (code === 'ERR_MODULE_NOT_FOUND' || (typeof message === 'string' && message.startsWith('Cannot find'))) &&
    typeof message === 'string' && message.includes(`'${moduleName}'`)
}

/** Loads the optional peer `moduleName`, or throws `MissingPeerError` naming the command that installs it. */
export async function importOptionalPeer<T> (moduleName: string, feature: string): Promise<T> {
  try {
    return await import(moduleName) as T
  } catch (error) {
    if (isMissing(error, moduleName)) throw new MissingPeerError(feature, moduleName, moduleName)
    throw error
  }
}
