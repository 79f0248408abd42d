import { fileURLToPath } from 'node:url'

/*
 * Development files live at fixed places in the checkout, found from this module's own
 * location (src/config and dist/config sit at the same depth), never from the working
 * directory: `pnpm start` at the root, `pnpm --filter @muejam/api start` and a test in a
 * temporary directory all find the same ones.
 */

/** The checkout's root folder, with a trailing slash. */
export const REPOSITORY_ROOT = fileURLToPath(new URL('../../../../', import.meta.url))

/** Where the development issuer keeps its key pair unless DEV_KEYS_DIR says otherwise. */
export const DEFAULT_DEV_KEYS_DIR = fileURLToPath(new URL('../../../../.data/dev-keys', import.meta.url))

/** The development environment file, read outside production (never committed). */
export const ENV_FILE = fileURLToPath(new URL('../../../../.env', import.meta.url))

/** The committed template of ENV_FILE, generated from the schema. */
export const ENV_EXAMPLE_FILE = fileURLToPath(new URL('../../../../.env.example', import.meta.url))
