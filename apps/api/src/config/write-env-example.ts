import { writeFile } from 'node:fs/promises'
import { renderEnvExample } from './env-example.js'
import { ENV_EXAMPLE_FILE } from './repository-paths.js'

/** `pnpm run generate:env-example`: rewrites `.env.example` at the repository root from the schema. */
await writeFile(ENV_EXAMPLE_FILE, renderEnvExample())
process.stdout.write(`wrote ${ENV_EXAMPLE_FILE}\n`)
