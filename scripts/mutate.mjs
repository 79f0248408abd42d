#!/usr/bin/env node
// pnpm mutate: applies the one-line mutations of scripts/mutations.json, one at a time, to a
// copy of the working tree, runs the test files each names, and reports which mutations the
// tests kill. The working tree itself is never written to.
//
//   node scripts/mutate.mjs [--only id,id…] [--list file] [--keep] [--skip-build]
//
// --only        run just these mutations
// --list        another list file in the same format (default: scripts/mutations.json)
// --keep        keep the copy (its path is printed) to look at the logs in <copy>/.mutate-logs
// --skip-build  use the dist/ folders as copied instead of running `tsc -b` in the copy first
import { spawn } from 'node:child_process'
import { cpSync, existsSync, mkdirSync, mkdtempSync, readFileSync, realpathSync, rmSync, symlinkSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { basename, dirname, join, relative } from 'node:path'
import { fileURLToPath } from 'node:url'
import { parseArgs } from 'node:util'

const ROOT = dirname(dirname(fileURLToPath(import.meta.url)))
/** A test run that takes longer than this counts as killed (a mutation that hangs). */
const RUN_TIMEOUT_MS = 10 * 60_000

const { values: flags } = parseArgs({
  options: {
    only: { type: 'string' },
    list: { type: 'string' },
    keep: { type: 'boolean', default: false },
    'skip-build': { type: 'boolean', default: false }
  }
})

/**
 * @typedef {object} Mutation
 * @property {string} id
 * @property {string} file      repository-relative source file
 * @property {string} find      the exact text to replace: on one line, found exactly once
 * @property {string} replace
 * @property {string} bug       what the mutation breaks, in words
 * @property {string[]} tests   repository-relative test files that must catch it
 * @property {string} [equivalent] why the mutation cannot change behaviour, when it cannot
 */

/** @returns {Mutation[]} */
function loadMutations () {
  /** @type {Mutation[]} */
  const all = JSON.parse(readFileSync(flags.list ?? join(ROOT, 'scripts', 'mutations.json'), 'utf8'))
  if (flags.only === undefined) return all
  const wanted = new Set(flags.only.split(',').map((id) => id.trim()))
  const unknown = [...wanted].filter((id) => !all.some((mutation) => mutation.id === id))
  if (unknown.length > 0) fail(`unknown mutation id(s): ${unknown.join(', ')}`)
  return all.filter((mutation) => wanted.has(mutation.id))
}

/** Stops the run: the list or the copy is unusable, so no outcome would mean anything. */
function fail (message) {
  throw new Error(message)
}

/** `packages/<name>` or `apps/<name>`: the project a repository path belongs to. */
function projectOf (path) {
  return path.split('/').slice(0, 2).join('/')
}

/** Every mutation must still match the code exactly once, so the list cannot rot silently. */
function checkApplies (mutations) {
  const problems = []
  for (const { id, file, find, tests } of mutations) {
    if (find.includes('\n')) problems.push(`${id}: "find" spans more than one line`)
    const path = join(ROOT, file)
    if (!existsSync(path)) {
      problems.push(`${id}: ${file} does not exist`)
      continue
    }
    const count = readFileSync(path, 'utf8').split(find).length - 1
    if (count !== 1) problems.push(`${id}: ${JSON.stringify(find)} occurs ${count} times in ${file} (must be exactly once)`)
    for (const test of tests) if (!existsSync(join(ROOT, test))) problems.push(`${id}: test file ${test} does not exist`)
  }
  if (problems.length > 0) fail(`scripts/mutations.json no longer matches the code; update it:\n  ${problems.join('\n  ')}`)
}

const SKIPPED = new Set(['.git', '.tap', '.data', 'coverage', '.mutate-logs'])

/**
 * Copies the working tree (uncommitted changes included) without `.git`, tap's caches or
 * data folders. The root node_modules is linked, not copied: pnpm's per-package links are
 * relative (`../../../node_modules/.pnpm/…`, `../../testing`), so in the copy they reach
 * the shared store through that link and the workspace packages of the copy.
 */
function copyRepository () {
  const copy = mkdtempSync(join(tmpdir(), 'muejam-mutate-'))
  cpSync(ROOT, copy, {
    recursive: true,
    verbatimSymlinks: true,
    filter: (source) => !SKIPPED.has(basename(source)) && source !== join(ROOT, 'node_modules')
  })
  symlinkSync(join(ROOT, 'node_modules'), join(copy, 'node_modules'), 'dir')
  // The workspace links must land in the copy, or its mutated sources would not be the ones loaded.
  const link = realpathSync(join(copy, 'packages', 'db-pool', 'node_modules', '@muejam', 'testing'))
  if (!link.startsWith(realpathSync(copy))) {
    rmSync(copy, { recursive: true, force: true })
    fail(`workspace links of the copy resolve outside it (${link})`)
  }
  return copy
}

/** The process group running now, stopped with the run on Ctrl-C. */
let running

/** Runs a command in `cwd`; resolves with its exit code (null after a timeout), duration and output. */
function run (command, args, cwd, logFile) {
  const started = Date.now()
  return new Promise((resolve) => {
    const child = spawn(command, args, { cwd, detached: true, stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, FORCE_COLOR: '0' } })
    running = child
    let output = ''
    const collect = (chunk) => { output += chunk }
    child.stdout.on('data', collect)
    child.stderr.on('data', collect)
    let timedOut = false
    const timer = setTimeout(() => {
      timedOut = true
      process.kill(-child.pid, 'SIGKILL')
    }, RUN_TIMEOUT_MS)
    child.on('close', (code) => {
      clearTimeout(timer)
      running = undefined
      // A test process killed by its timeout never ran its teardown: whatever it started
      // (redis-server, postgres) is still in the group.
      try {
        process.kill(-child.pid, 'SIGKILL')
      } catch {}
      writeFileSync(logFile, output)
      resolve({ code: timedOut ? null : code, seconds: (Date.now() - started) / 1000, output })
    })
  })
}

/** Runs `tests` with tap; `timeoutS` replaces the project's per-file timeout. */
function tapRun (copy, tests, logFile, timeoutS) {
  const project = projectOf(tests[0])
  const files = tests.map((test) => relative(project, test))
  const timeout = timeoutS === undefined ? [] : [`--timeout=${timeoutS}`]
  return run(join(copy, 'node_modules', '.bin', 'tap'), ['--disable-coverage', '--reporter=tap', ...timeout, ...files], join(copy, project), logFile)
}

/** Rebuilds `project` in the copy when tests of another project load it through its dist/. */
async function rebuildFor (copy, mutation, logFile) {
  const project = projectOf(mutation.file)
  if (mutation.tests.every((test) => projectOf(test) === project)) return
  const { code, output } = await run(join(copy, 'node_modules', '.bin', 'tsc'), ['-b', project], copy, logFile)
  if (code !== 0) throw new Error(`tsc -b ${project} failed in the copy:\n${output}`)
}

function lineOf (source, find) {
  return source.slice(0, source.indexOf(find)).split('\n').length
}

/**
 * Runs every test set unmutated: a set that already fails proves nothing about a mutation.
 * Returns how long each passing set took.
 */
async function baselines (copy, logs, mutations) {
  const passing = new Map()
  for (const tests of new Set(mutations.map((mutation) => JSON.stringify(mutation.tests)))) {
    const files = JSON.parse(tests)
    const { code, seconds, output } = await tapRun(copy, files, join(logs, `baseline-${passing.size + 1}.log`))
    console.log(`baseline ${code === 0 ? 'passes' : 'FAILS  '} ${seconds.toFixed(0).padStart(4)} s  ${files.join(' ')}`)
    if (code !== 0) console.log(output.split('\n').slice(-40).join('\n'))
    passing.set(tests, code === 0 ? seconds : undefined)
  }
  return passing
}

/**
 * Applies one mutation in the copy, runs its tests, and puts the file back. A test that fails
 * may leave something waiting (an open transaction the app's close waits for), so a mutated
 * run gets four times its unmutated time, at least a minute, before it counts as killed.
 */
async function tryMutation (copy, logs, mutation, baselineSeconds) {
  const path = join(copy, mutation.file)
  const original = readFileSync(path, 'utf8')
  writeFileSync(path, original.replace(mutation.find, () => mutation.replace))
  try {
    await rebuildFor(copy, mutation, join(logs, `${mutation.id}.build.log`))
    const timeoutS = Math.max(60, Math.ceil(4 * baselineSeconds))
    const { code, seconds } = await tapRun(copy, mutation.tests, join(logs, `${mutation.id}.log`), timeoutS)
    const outcome = code === null ? 'killed (timeout)' : code !== 0 ? 'killed' : mutation.equivalent === undefined ? 'survived' : 'survived (equivalent)'
    return { outcome, seconds }
  } finally {
    writeFileSync(path, original)
    await rebuildFor(copy, mutation, join(logs, `${mutation.id}.restore.log`))
  }
}

function report (results) {
  const count = (prefix) => results.filter((result) => result.outcome.startsWith(prefix))
  const survivors = results.filter((result) => result.outcome === 'survived')
  const notRun = count('not run')
  console.log(`\n${results.length} mutations: ${count('killed').length} killed, ${survivors.length} survived, ${count('survived (equivalent)').length} equivalent, ${notRun.length} not run`)
  for (const { mutation, where } of survivors) console.log(`  SURVIVED ${mutation.id} (${where}): ${mutation.bug}\n    tests: ${mutation.tests.join(' ')}`)
  for (const { mutation } of count('survived (equivalent)')) console.log(`  equivalent ${mutation.id}: ${mutation.equivalent}`)
  for (const { mutation } of notRun) console.log(`  NOT RUN ${mutation.id}: its tests fail unmutated (see the baseline output above)`)
  return survivors.length === 0 && notRun.length === 0
}

async function main () {
  const mutations = loadMutations()
  checkApplies(mutations)
  const copy = copyRepository()
  const logs = join(copy, '.mutate-logs')
  mkdirSync(logs)
  const cleanUp = () => { if (!flags.keep) rmSync(copy, { recursive: true, force: true }) }
  process.once('SIGINT', () => {
    if (running !== undefined) process.kill(-running.pid, 'SIGKILL')
    cleanUp()
    process.exit(130)
  })
  console.log(`copy of the working tree: ${copy}`)
  try {
    if (!flags['skip-build']) {
      const { code, output } = await run(join(copy, 'node_modules', '.bin', 'tsc'), ['-b'], copy, join(logs, 'build.log'))
      // Tests load the sources of their own project; only other projects come from dist/. A
      // failing build leaves some dist/ folders as they were: the baselines show if that matters.
      if (code !== 0) console.log(`tsc -b fails in the copy; dist/ folders it could not build stay as copied:\n${output}`)
    }
    const passing = await baselines(copy, logs, mutations)
    const results = []
    for (const mutation of mutations) {
      const where = `${mutation.file}:${lineOf(readFileSync(join(copy, mutation.file), 'utf8'), mutation.find)}`
      const baselineSeconds = passing.get(JSON.stringify(mutation.tests))
      if (baselineSeconds === undefined) {
        results.push({ mutation, where, outcome: 'not run (baseline fails)' })
        continue
      }
      const { outcome, seconds } = await tryMutation(copy, logs, mutation, baselineSeconds)
      results.push({ mutation, where, outcome })
      console.log(`${outcome.padEnd(21)} ${seconds.toFixed(0).padStart(4)} s  ${mutation.id}  (${where})`)
    }
    process.exitCode = report(results) ? 0 : 1
    if (flags.keep) console.log(`logs: ${logs}`)
  } finally {
    cleanUp()
  }
}

try {
  await main()
} catch (error) {
  console.error(`mutate: ${error.message}`)
  process.exitCode = 2
}
