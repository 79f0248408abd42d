import { isModuleNotFound } from '@muejam/problem'
import { MissingPeerError } from './errors.js'

// Resolution and import are made here, not in @muejam/problem: a name resolves from the
// importing file's package, and under pnpm only this package sees its own peers.

/**
 * Fails now, with the command that fixes it, when the optional peer `moduleName` is not
 * installed. Only resolves the name: nothing is loaded.
 */
export function assertInstalled (moduleName: string, feature: string): void {
  try {
    import.meta.resolve(moduleName)
  } catch (error) {
    if (isModuleNotFound(error, moduleName)) throw new MissingPeerError(feature, moduleName)
    throw error
  }
}

/** Loads the optional peer `moduleName`, or throws `MissingPeerError` naming it. */
export async function importOptionalPeer<T> (moduleName: string, feature: string): Promise<T> {
  try {
    return await import(moduleName) as T
  } catch (error) {
    if (isModuleNotFound(error, moduleName)) throw new MissingPeerError(feature, moduleName)
    throw error
  }
}
