import { createRequire } from 'node:module'

/**
 * The API's version, from its package.json found by the package's own name, so the same
 * code reads it from dist/ and from the bundle in dist/bundle/.
 */
export const VERSION: string = (createRequire(import.meta.url)('@muejam/api/package.json') as { version: string }).version
