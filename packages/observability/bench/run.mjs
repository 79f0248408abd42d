// Runs bench/histogram.ts (TypeScript, importing ../src) with the TypeScript loader tap uses
// for the tests, so the benchmark needs no build step and no extra dependency.
import { spawnSync } from 'node:child_process'
import { createRequire } from 'node:module'
import { dirname, join } from 'node:path'
import { fileURLToPath, pathToFileURL } from 'node:url'

const tap = createRequire(fileURLToPath(import.meta.resolve('tap/package.json')))
const loader = join(dirname(tap.resolve('@tapjs/typescript/package.json')), 'dist/esm/import.mjs')
const script = fileURLToPath(new URL('histogram.ts', import.meta.url))
const args = process.argv.slice(2).filter((arg, i) => !(i === 0 && arg === '--'))
const { status } = spawnSync(process.execPath, ['--import', pathToFileURL(loader).href, script, ...args], { stdio: 'inherit' })
process.exit(status ?? 1)
