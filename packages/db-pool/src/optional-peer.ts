import { isModuleNotFound } from '@muejam/problem'
import { MissingPeerError } from './errors.js'

/**
 * Loads the optional peer `moduleName`, or throws `MissingPeerError` naming the command that
 * installs it. The import is made here: a name resolves from the importing file's package.
 */
export async function importOptionalPeer<T> (moduleName: string, feature: string): Promise<T> {
  try {
    return await import(moduleName) as T
  } catch (error) {
    if (isModuleNotFound(error, moduleName)) throw new MissingPeerError(feature, moduleName)
    throw error
  }
}
