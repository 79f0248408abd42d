// `pnpm generate`: writes the API's OpenAPI document to packages/client/openapi.json, read
// from the built app through inject (no server, database or Redis), then regenerates the
// client's types from it. CI runs it and fails when the committed files differ.
import { execFileSync } from 'node:child_process'
import { writeFileSync } from 'node:fs'
import { join, resolve } from 'node:path'
import { pathToFileURL } from 'node:url'

const root = resolve(import.meta.dirname, '..')
const documentPath = join(root, 'packages', 'client', 'openapi.json')

const { openapiSnapshot } = await import(pathToFileURL(join(root, 'apps', 'api', 'dist', 'plugins', 'openapi-snapshot.js')).href)
writeFileSync(documentPath, `${JSON.stringify(await openapiSnapshot(), null, 2)}\n`)
console.log('generate: wrote packages/client/openapi.json')
execFileSync('pnpm', ['--filter', '@muejam/client', 'run', 'generate'], { cwd: root, stdio: 'inherit' })
