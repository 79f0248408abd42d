// `pnpm lint:packages`: packs every public package once and lints the tarball a consumer would
// get, with publint (package.json fields, exports, files) and Are the Types Wrong (whether
// TypeScript resolves the types of each export under node16 ESM and bundlers).
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { buildPublicPackages, packPublicPackages, publicPackages, root, run } from './public-packages.mjs'

const packages = publicPackages()
try {
  buildPublicPackages(packages)
} catch (error) {
  console.error(`lint:packages: ${error.message}`)
  process.exit(1)
}
const destination = mkdtempSync(join(tmpdir(), 'muejam-lint-packages-'))
const failed = []
try {
  const tarballs = packPublicPackages(destination, packages)
  packages.forEach((pkg, index) => {
    const tarball = tarballs[index]
    console.log(`\n== ${pkg.name}`)
    for (const [tool, args] of [
      ['publint', ['run', tarball, '--strict']],
      // ESM only: CommonJS consumers load these packages with import(), which the profile allows.
      ['attw', [tarball, '--profile', 'esm-only', '--format', 'ascii', '--no-emoji', '--no-color']]
    ]) {
      try {
        run('pnpm', ['exec', tool, ...args], root)
      } catch {
        failed.push(`${pkg.name}: ${tool}`)
      }
    }
  })
} finally {
  rmSync(destination, { recursive: true, force: true })
}

if (failed.length > 0) {
  console.error(`\nlint:packages failed:\n${failed.map((line) => `  - ${line}`).join('\n')}`)
  process.exit(1)
}
console.log(`\nlint:packages: ${packages.length} packages pass publint --strict and attw (esm-only).`)
