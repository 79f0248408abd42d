// Starting the servers under test, waiting for them, reading their memory.
import { execFileSync, spawn } from 'node:child_process'
import { cpSync, createWriteStream, existsSync, readFileSync } from 'node:fs'
import { createServer } from 'node:net'
import { join } from 'node:path'

export function freePort () {
  return new Promise((resolve, reject) => {
    const server = createServer().listen(0, '127.0.0.1', () => {
      const { port } = server.address()
      server.close(() => resolve(port))
    }).on('error', reject)
  })
}

/** Starts `node <script>` and resolves once its output matches `ready`. */
export function startServer ({ name, script, cwd, env, nodeArgs = [], logFile, ready = /listening/i, timeoutMs = 60_000 }) {
  const startedAt = performance.now()
  const child = spawn(process.execPath, [...nodeArgs, script], { cwd, env: { ...process.env, ...env }, stdio: ['ignore', 'pipe', 'pipe'] })
  if (logFile) {
    const log = createWriteStream(logFile)
    child.stdout.pipe(log)
    child.stderr.pipe(log)
  }
  let output = ''
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => fail(new Error(`${name} did not start within ${timeoutMs} ms:\n${output.slice(-2000)}`)), timeoutMs)
    const fail = (error) => { clearTimeout(timer); child.kill('SIGKILL'); reject(error) }
    const onData = (chunk) => {
      // Only the start-up output is kept; a busy server's request logs are drained, not stored.
      if (output.length < 20_000) output += chunk
      if (ready.test(output)) {
        clearTimeout(timer)
        ready = /$^/
        resolve({ name, pid: child.pid, startedAt, stop: () => stop(child) })
      }
    }
    child.stdout.on('data', onData)
    child.stderr.on('data', onData)
    child.on('exit', (code) => fail(new Error(`${name} exited with ${code}:\n${output.slice(-2000)}`)))
  })
}

/** Milliseconds from `startedAt` until `url` first answers 200, asked every 5 ms. */
export async function millisecondsUntilOk (url, startedAt, timeoutMs = 60_000) {
  while (performance.now() - startedAt < timeoutMs) {
    const response = await fetch(url).catch(() => null)
    await response?.body?.cancel()
    if (response?.status === 200) return performance.now() - startedAt
    await new Promise((resolve) => setTimeout(resolve, 5))
  }
  throw new Error(`${url} did not answer 200 within ${timeoutMs} ms`)
}

function stop (child) {
  if (child.exitCode !== null) return Promise.resolve()
  child.removeAllListeners('exit')
  return new Promise((resolve) => {
    const timer = setTimeout(() => child.kill('SIGKILL'), 10_000)
    child.on('exit', () => { clearTimeout(timer); resolve() })
    child.kill('SIGTERM')
  })
}

/** CPU time (user and system) the process has used so far, in microseconds. */
export function cpuMicroseconds (pid) {
  // Fields 14 and 15 of /proc/<pid>/stat, after the parenthesised command name.
  const fields = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1].split(' ')
  return (Number(fields[11]) + Number(fields[12])) * (1e6 / CLOCK_TICKS)
}
const CLOCK_TICKS = Number(execFileSync('getconf', ['CLK_TCK'], { encoding: 'utf8' }))

export function residentMegabytes (pid) {
  const kb = /VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'))?.[1]
  return Number(kb) / 1024
}

/**
 * Copies a reference server out of the read-only shared folder and installs it from its
 * lock file; the install is kept between runs while the lock file is unchanged.
 */
export function prepareReference (source, workDir) {
  const target = join(workDir, source.split('/').pop())
  const lock = (dir) => existsSync(join(dir, 'package-lock.json')) ? readFileSync(join(dir, 'package-lock.json'), 'utf8') : ''
  const installed = existsSync(join(target, 'node_modules')) && lock(target) === lock(source)
  cpSync(source, target, { recursive: true, filter: (path) => !path.includes('node_modules') })
  if (!installed) execFileSync('npm', ['ci', '--no-audit', '--no-fund', '--loglevel=error'], { cwd: target, stdio: 'inherit' })
  return target
}
