import { createRequire } from 'node:module'
import { fileURLToPath, pathToFileURL } from 'node:url'

/*
 * Development files live at fixed places in the checkout, found from the API package's own
 * package.json (resolved by the package's name, so from src/, dist/ and the bundle's chunks
 * alike), never from the working directory: `pnpm start` at the root,
 * `pnpm --filter @muejam/api start` and a test in a temporary directory all find the same ones.
 */
const packageJson = pathToFileURL(createRequire(import.meta.url).resolve('@muejam/api/package.json'))

/** The checkout's root folder (two levels above apps/api), with a trailing slash. */
export const REPOSITORY_ROOT = fileURLToPath(new URL('../../', packageJson))

/** Where the development issuer keeps its key pair unless DEV_KEYS_DIR says otherwise. */
export const DEFAULT_DEV_KEYS_DIR = fileURLToPath(new URL('../../.data/dev-keys', packageJson))

/** The development environment file, read outside production (never committed). */
export const ENV_FILE = fileURLToPath(new URL('../../.env', packageJson))

/** The committed template of ENV_FILE, generated from the schema. */
export const ENV_EXAMPLE_FILE = fileURLToPath(new URL('../../.env.example', packageJson))
