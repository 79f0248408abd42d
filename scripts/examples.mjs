// `pnpm test:examples`: the proof that the packages work outside this workspace. Every public
// package is built and packed as it would be published; a new project made with plain npm
// installs the tarballs next to Fastify and the host's own libraries, and nothing else of
// ours; examples/service is copied in, type-checked against the packed .d.ts files, and its
// tests run it against the real PostgreSQL and Redis. Then each README's first code block is
// checked against the example file it shows.
//
// KEEP_EXAMPLES_DIR=1 keeps the temporary project (its path is printed) to look into a failure.
import { spawn } from 'node:child_process'
import { cpSync, existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs'
import { createServer } from 'node:http'
import { tmpdir } from 'node:os'
import { join, relative } from 'node:path'
import { buildPublicPackages, packPublicPackages, publicPackages, root, run } from './public-packages.mjs'
import { checkReadmeExamples } from './readme-examples.mjs'

const exampleDir = join(root, 'examples', 'service')

// What a host project installs besides our tarballs, each at the exact version the workspace
// tests with: the host's framework, the libraries our packages take as peers, the compiler
// and type packages the example is built with, and what its tests alone use.
const HOST_DEPENDENCIES = [
  'fastify',
  'kysely', 'pg', 'ioredis', 'prom-client',
  'typescript', '@types/node', '@types/pg',
  'jose'
]

const started = Date.now()
const step = (title) => console.log(`\n== examples: ${title} (${Math.round((Date.now() - started) / 1000)} s)`)

/** The one exact version the workspace's manifests pin for `name`. */
function workspaceVersion (name) {
  const manifests = [join(root, 'package.json')]
  for (const group of ['packages', 'apps']) {
    for (const entry of readdirSync(join(root, group), { withFileTypes: true })) {
      const manifest = join(root, group, entry.name, 'package.json')
      if (entry.isDirectory() && existsSync(manifest)) manifests.push(manifest)
    }
  }
  const versions = new Set()
  for (const file of manifests) {
    const manifest = JSON.parse(readFileSync(file, 'utf8'))
    for (const field of ['dependencies', 'devDependencies']) {
      const version = manifest[field]?.[name]
      if (typeof version === 'string' && /^\d+\.\d+\.\d+$/.test(version)) versions.add(version)
    }
  }
  if (versions.size !== 1) {
    throw new Error(`the workspace should pin exactly one version of ${name}; found ${versions.size === 0 ? 'none' : [...versions].join(', ')}`)
  }
  return [...versions][0]
}

/** Fails unless every package of ours in the project came from our tarballs. */
function assertOnlyTarballs (project, packages) {
  const lock = JSON.parse(readFileSync(join(project, 'package-lock.json'), 'utf8'))
  const ours = Object.entries(lock.packages).filter(([path]) => /(^|\/)node_modules\/@muejam\//.test(path))
  const notFromTarball = ours.filter(([, entry]) => !String(entry.resolved ?? '').startsWith('file:'))
  if (notFromTarball.length > 0) {
    throw new Error(`installed from elsewhere than our tarballs: ${notFromTarball.map(([path, entry]) => `${path} (${entry.resolved})`).join(', ')}`)
  }
  const missing = packages.filter((pkg) => !ours.some(([path]) => path === `node_modules/${pkg.name}`))
  if (missing.length > 0) throw new Error(`not installed: ${missing.map((pkg) => pkg.name).join(', ')}`)
}

/**
 * Runs `install(registryUrl)` with a registry of our scope that knows no package: npm may look
 * our names up (it does for peers the tarballs also provide) and is told at once that none
 * exists there, so whatever of ours it installs can only come from the tarballs. Resolves with
 * the names it asked for.
 */
async function withEmptyScopeRegistry (install) {
  const asked = new Set()
  const server = createServer((request, response) => {
    asked.add(decodeURIComponent(request.url.slice(1)))
    response.writeHead(404, { 'content-type': 'application/json' }).end('{"error":"Not found"}')
  })
  await new Promise((resolve) => server.listen(0, '127.0.0.1', resolve))
  try {
    await install(`http://127.0.0.1:${server.address().port}/`)
  } finally {
    server.close()
  }
  return [...asked].sort()
}

function runAsync (command, args, cwd) {
  return new Promise((resolve, reject) => {
    const child = spawn(command, args, { cwd, stdio: 'inherit' })
    child.once('error', reject)
    child.once('exit', (code, signal) => {
      if (code === 0) resolve()
      else reject(new Error(`Command failed: ${command} ${args.join(' ')} (${signal ?? `exit code ${code}`})`))
    })
  })
}

function testFiles (dir) {
  return readdirSync(dir, { recursive: true })
    .filter((file) => String(file).endsWith('.test.js'))
    .map((file) => join(dir, String(file)))
    .sort()
}

/** Passed and failed tests, from the TAP summary node:test writes. */
function testCounts (tapReport) {
  const report = existsSync(tapReport) ? readFileSync(tapReport, 'utf8') : ''
  const count = (name) => Number(new RegExp(`^# ${name} (\\d+)$`, 'm').exec(report)?.[1] ?? 0)
  return { passed: count('pass'), failed: count('fail') + count('cancelled') }
}

const packages = publicPackages()
let counts = { passed: 0, failed: 0 }
const workdir = mkdtempSync(join(tmpdir(), 'muejam-examples-'))
const project = join(workdir, 'service')
let failure = null
try {
  step(`build ${packages.length} public packages`)
  buildPublicPackages(packages)

  step('pack them with pnpm pack')
  const tarballDir = join(workdir, 'tarballs')
  mkdirSync(tarballDir)
  const tarballs = packPublicPackages(tarballDir, packages)
  for (const tarball of tarballs) console.log(`  ${relative(workdir, tarball)}`)

  step('a new npm project: the tarballs and the host dependencies')
  mkdirSync(project)
  run('npm', ['init', '-y', '--silent'], project, { stdio: 'ignore' })
  run('npm', ['pkg', 'set', 'type=module', 'private=true'], project)
  const hostDependencies = HOST_DEPENDENCIES.map((name) => `${name}@${workspaceVersion(name)}`)
  console.log(`  npm install <${tarballs.length} tarballs> ${hostDependencies.join(' ')}`)
  const asked = await withEmptyScopeRegistry((registry) => runAsync('npm', [
    'install', '--prefer-offline', '--no-audit', '--no-fund', '--loglevel=error', `--@muejam:registry=${registry}`,
    ...tarballs, ...hostDependencies
  ], project))
  if (asked.length > 0) console.log(`  npm looked up, and was refused: ${asked.join(', ')}`)
  assertOnlyTarballs(project, packages)

  step('copy examples/service in and type-check it against the packed .d.ts files')
  for (const entry of readdirSync(exampleDir)) {
    if (['node_modules', 'dist', 'package.json', 'package-lock.json'].includes(entry)) continue
    cpSync(join(exampleDir, entry), join(project, entry), { recursive: true })
  }
  run('node', [join(project, 'node_modules', 'typescript', 'bin', 'tsc'), '-p', project], project)

  step('run its tests against PostgreSQL and Redis')
  const tapReport = join(workdir, 'report.tap')
  try {
    run('node', [
      '--test', '--test-reporter=spec', '--test-reporter-destination=stdout',
      '--test-reporter=tap', `--test-reporter-destination=${tapReport}`,
      ...testFiles(join(project, 'dist', 'test'))
    ], project)
  } finally {
    counts = testCounts(tapReport)
  }
} catch (error) {
  failure = error
} finally {
  if (process.env.KEEP_EXAMPLES_DIR) console.log(`\nexamples: the project is kept in ${project}`)
  else rmSync(workdir, { recursive: true, force: true })
}

step('README openings against examples/')
const readmeProblems = checkReadmeExamples()
for (const problem of readmeProblems) console.error(problem)
if (readmeProblems.length === 0) console.log('  every public package README opens with its example file')

if (failure) {
  // A failed command has printed its own output above: its first line names it.
  console.error(`\nexamples: failed: ${String(failure.message).split('\n')[0]}`)
}
step('done')
console.log(`examples: ${counts.passed} passed, ${counts.failed + readmeProblems.length + (failure && counts.failed === 0 ? 1 : 0)} failed`)
if (failure || readmeProblems.length > 0) process.exit(1)
