// The production server bundled: dist/bundle/server.js, built from dist/server.js. Loading
// some 1 200 modules one by one takes most of a start; a few files take a third of it.
import { rmSync } from 'node:fs'
import { fileURLToPath } from 'node:url'
import { build } from 'esbuild'

const apiDir = fileURLToPath(new URL('..', import.meta.url))

/** Loaded from node_modules at run time, not bundled. */
const external = [
  // Tracing instruments these as they load, which it cannot do inside a bundle.
  'pg', 'ioredis', '@muejam/tracing',
  // Optional, loaded only when the configuration uses them.
  '@sentry/node', '@aws-sdk/client-secrets-manager', '@electric-sql/pglite', 'pino-pretty',
  // Serves its static files from its own package folder.
  '@fastify/swagger-ui'
]

// Chunk names carry a hash: a fresh folder, so no chunk of an earlier build is left to ship.
rmSync(`${apiDir}/dist/bundle`, { recursive: true, force: true })
await build({
  entryPoints: [`${apiDir}/dist/server.js`],
  outdir: `${apiDir}/dist/bundle`,
  // server.js starts tracing before it imports the app: the app stays a chunk of its own, so
  // pg and ioredis load after tracing, which instruments them, as in dist/.
  splitting: true,
  chunkNames: 'chunks/[name]-[hash]',
  bundle: true,
  platform: 'node',
  format: 'esm',
  target: 'node20',
  external,
  // CommonJS dependencies inside an ES module bundle still call require().
  banner: { js: "import { createRequire as muejamCreateRequire } from 'node:module'; const require = muejamCreateRequire(import.meta.url);" },
  logLevel: 'warning'
})
