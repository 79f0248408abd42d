// The packages we publish (every packages/* whose package.json is not private), and packing
// them the way `pnpm publish` would: `workspace:*` ranges become the packages' versions.
import { execFileSync } from 'node:child_process'
import { readdirSync, readFileSync } from 'node:fs'
import { join, resolve } from 'node:path'

export const root = resolve(import.meta.dirname, '..')

export function publicPackages () {
  const folder = join(root, 'packages')
  return readdirSync(folder, { withFileTypes: true })
    .filter((entry) => entry.isDirectory())
    .map((entry) => {
      const dir = join(folder, entry.name)
      const manifest = JSON.parse(readFileSync(join(dir, 'package.json'), 'utf8'))
      return { name: manifest.name, version: manifest.version, dir, manifest }
    })
    .filter((pkg) => pkg.manifest.private !== true)
    .sort((a, b) => a.name.localeCompare(b.name))
}

/** Compiles the public packages (and what they reference) with the TypeScript build. */
export function buildPublicPackages (packages = publicPackages()) {
  try {
    run('pnpm', ['exec', 'tsc', '-b', ...packages.map((pkg) => pkg.dir)], root)
  } catch {
    throw new Error('the public packages do not build (tsc -b errors above)')
  }
}

/** Packs each package into `destination`; returns the tarballs' absolute paths in package order. */
export function packPublicPackages (destination, packages = publicPackages()) {
  return packages.map((pkg) => {
    const output = execFileSync('pnpm', ['pack', '--json', '--pack-destination', destination], { cwd: pkg.dir, encoding: 'utf8' })
    const { filename } = JSON.parse(output)
    return resolve(destination, filename)
  })
}

export function run (command, args, cwd, options = {}) {
  execFileSync(command, args, { cwd, stdio: 'inherit', ...options })
}
