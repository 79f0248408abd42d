// pnpm bench: the authenticated story read, ours against the references, one run (targets in the README).
import { execFileSync } from 'node:child_process'
import { randomBytes, randomUUID } from 'node:crypto'
import { once } from 'node:events'
import { existsSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { createServer } from 'node:http'
import { tmpdir } from 'node:os'
import { dirname, join, resolve } from 'node:path'
import { fileURLToPath } from 'node:url'
import pg from 'pg'
import { startIssuer } from './issuer.js'
import { cpuMicroseconds, freePort, millisecondsUntilOk, prepareReference, residentMegabytes, startServer } from './processes.js'
import { autocannon } from './autocannon.js'
import { wrk } from './wrk.js'

const apiDir = resolve(dirname(fileURLToPath(import.meta.url)), '..')
const rootDir = resolve(apiDir, '../..')
// The reference servers live beside the project (../shared/bench); a clone made elsewhere (CI)
// finds them at the workplace's fixed location, or wherever BENCH_REFERENCES_DIR says.
const referencesDir = [process.env.BENCH_REFERENCES_DIR, join(rootDir, '../shared/bench'), '/work/shared/bench']
  .filter((dir) => dir !== undefined && dir !== '')
  .map((dir) => resolve(dir))
  .find((dir) => existsSync(join(dir, 'peer-express/server.js')))
const seconds = Number(process.env.BENCH_SECONDS ?? 30)
const warmupSeconds = Number(process.env.BENCH_WARMUP_SECONDS ?? Math.min(5, seconds))
const adminUrl = process.env.BENCH_DATABASE_URL ?? process.env.TEST_DATABASE_URL ?? 'postgres://postgres@127.0.0.1:5432/test'
const redisUrl = process.env.BENCH_REDIS_URL ?? process.env.TEST_REDIS_URL ?? 'redis://127.0.0.1:6379'
// BENCH_ONLY=muejam,bare-fastify measures a subset; BENCH_PROFILE=cpu (or 1) writes a CPU profile
// of ours, BENCH_PROFILE=heap a sampled heap profile.
const only = process.env.BENCH_ONLY ? new Set(process.env.BENCH_ONLY.split(',')) : null
const profileDir = join(rootDir, '.data/bench/profiles')
const profileArgs = {
  '': [],
  1: ['--cpu-prof', `--cpu-prof-dir=${profileDir}`],
  cpu: ['--cpu-prof', `--cpu-prof-dir=${profileDir}`],
  heap: ['--heap-prof', `--heap-prof-dir=${profileDir}`, '--heap-prof-interval=65536']
}[process.env.BENCH_PROFILE ?? '']
if (profileArgs === undefined) throw new Error(`BENCH_PROFILE must be cpu or heap, not ${process.env.BENCH_PROFILE}`)
// BENCH_NODE_ARGS='--max-semi-space-size=8': Node.js flags for ours only, to try V8 settings.
const extraNodeArgs = (process.env.BENCH_NODE_ARGS ?? '').split(' ').filter((arg) => arg !== '')
// Ours runs as the image runs it (docker/Dockerfile's command).
const productionNodeArgs = ['--max-semi-space-size=32']

// autocannon by default: at 1 000 connections on a 2-core machine wrk reports multi-second
// tails that neither the server's own duration histogram nor other clients see (see README).
const loadgenName = process.env.BENCH_LOADGEN ?? 'autocannon'
const loadgen = { autocannon, wrk }[loadgenName]
if (loadgen === undefined) throw new Error(`BENCH_LOADGEN must be autocannon or wrk, not ${loadgenName}`)

function requireWrk () {
  if (loadgenName !== 'wrk') return
  try {
    execFileSync('wrk', ['--version'], { stdio: 'ignore' })
  } catch (error) {
    if (error.code === 'ENOENT') throw new Error('wrk is missing: apt-get install -y wrk')
  }
}

async function createDatabase () {
  const name = `muejam_bench_${process.pid}`
  const admin = new pg.Client({ connectionString: adminUrl })
  await admin.connect()
  await admin.query(`drop database if exists "${name}" with (force)`)
  await admin.query(`create database "${name}"`)
  await admin.end()
  const url = new URL(adminUrl)
  url.pathname = `/${name}`
  return {
    url: url.href,
    drop: async () => {
      const client = new pg.Client({ connectionString: adminUrl })
      await client.connect()
      await client.query(`drop database if exists "${name}" with (force)`)
      await client.end()
    }
  }
}

async function seed (databaseUrl) {
  execFileSync(process.execPath, [join(apiDir, 'dist/db/migrate.js')], {
    env: { ...process.env, NODE_ENV: 'development', DATABASE_URL: databaseUrl, LOG_LEVEL: 'warn' },
    stdio: 'inherit'
  })
  const client = new pg.Client({ connectionString: databaseUrl })
  await client.connect()
  const author = randomUUID()
  const story = randomUUID()
  await client.query('insert into user_profiles (id, clerk_user_id, handle, display_name) values ($1, $2, $3, $4)',
    [author, 'user_bench_author', 'bench_author', 'Bench Author'])
  await client.query(`insert into stories (id, author_id, title, description, published_at)
    values ($1, $2, 'A benchmarked story', 'Read many times a second.', now())`, [story, author])
  await client.end()
  return story
}

async function startSentrySink () {
  const server = createServer((request, response) => { request.resume(); response.end('{}') })
  server.listen(0, '127.0.0.1')
  await once(server, 'listening')
  return { dsn: `http://public@127.0.0.1:${server.address().port}/1`, close: () => server.close() }
}

function format (n, digits = 0) {
  return Number.isFinite(n) ? n.toFixed(digits) : 'n/a'
}

async function measure (server, url, headers) {
  const idleMb = residentMegabytes(server.pid)
  await loadgen({ url, connections: 100, seconds: warmupSeconds, headers })
  const cpuBefore = cpuMicroseconds(server.pid)
  const at100 = await loadgen({ url, connections: 100, seconds, headers })
  // The server's own CPU time per answer: steadier than req/s, which the load generator's share
  // of the two cores also moves.
  at100.cpuPerRequest = (cpuMicroseconds(server.pid) - cpuBefore) / at100.total
  const at1000 = await loadgen({ url, connections: 1000, seconds, headers })
  return { name: server.name, at100, at1000, idleMb, rssMb: residentMegabytes(server.pid) }
}

/** The write path, reported beside the read: a story with two chapters created per request. */
async function measureWrites (url, headers) {
  const body = JSON.stringify({
    title: 'A story written under load',
    description: 'Two chapters, one transaction.',
    chapters: [
      { title: 'One', content: 'The first chapter of a benchmarked story.' },
      { title: 'Two', content: 'The second chapter of a benchmarked story.' }
    ]
  })
  const writeHeaders = { ...headers, 'content-type': 'application/json' }
  const probe = await fetch(url, { method: 'POST', headers: writeHeaders, body })
  if (probe.status !== 201) throw new Error(`muejam answered ${probe.status} to the benchmarked write: ${await probe.text()}`)
  // autocannon whatever BENCH_LOADGEN says: wrk needs a script to send a body.
  return autocannon({ url, connections: 50, seconds, headers: writeHeaders, method: 'POST', body })
}

function report (results, { readyMs, writes }) {
  const rows = [['server', 'conns', 'req/s', 'p50 ms', 'p99 ms', 'non-2xx', 'socket err', 'CPU µs/req', 'RSS MB (idle → after)']]
  for (const r of results) {
    for (const [conns, m] of [[100, r.at100], [1000, r.at1000]]) {
      rows.push([r.name, String(conns), format(m.requestsPerSecond), format(m.p50, 2), format(m.p99, 2),
        String(m.non2xx), String(m.socketErrors), m.cpuPerRequest === undefined ? '' : format(m.cpuPerRequest, 1), conns === 1000 ? `${format(r.idleMb, 1)} → ${format(r.rssMb, 1)}` : ''])
    }
  }
  const widths = rows[0].map((_, i) => Math.max(...rows.map((row) => row[i].length)))
  for (const row of rows) console.log(row.map((cell, i) => cell.padEnd(widths[i])).join('  '))

  const by = Object.fromEntries(results.map((r) => [r.name, r]))
  const ours = by.muejam
  if (ours === undefined) return
  console.log('')
  if (writes !== undefined) {
    console.log(`write path, POST /v1/stories with 2 chapters @50: ${format(writes.requestsPerSecond)} req/s, p99 ${format(writes.p99, 1)} ms, ` +
      `${writes.non2xx} non-2xx, ${writes.socketErrors} socket errors (no target)`)
  }
  const line = (ok, text) => console.log(`${ok ? '✔' : '✖'} ${text}`)
  const ratio = (name) => by[name] === undefined ? undefined : ours.at100.requestsPerSecond / by[name].at100.requestsPerSecond
  for (const [name, label, min] of [['bare-fastify', 'bare fastify (ceiling)', 0.5], ['peer-express', 'peer-express', 8], ['naive-fastify', 'naive-fastify', 3.5]]) {
    const value = ratio(name)
    if (value !== undefined) line(value >= min, `throughput vs ${label} @100: ${format(value, 2)} (target ≥ ${min})`)
  }
  if (by['peer-express'] !== undefined) {
    const p99Ratio = ours.at100.p99 / by['peer-express'].at100.p99
    line(p99Ratio <= 1 / 3, `p99 vs peer-express @100: ${format(p99Ratio, 2)} (target ≤ 0.33)`)
  }
  const stress = ours.at1000
  line(stress.socketErrors === 0 && stress.non2xx === 0 && stress.p99 <= 100, '1 000 connections: ' +
    `${stress.socketErrors} socket errors, ${stress.non2xx} non-2xx, p99 ${format(stress.p99, 1)} ms (target 0, 0, ≤ 100 ms)`)
  line(ours.rssMb <= 150, `resident memory after 1 000 connections: ${format(ours.rssMb, 1)} MB (target ≤ 150 MB)`)
  line(ours.idleMb <= 80, `resident memory idle: ${format(ours.idleMb, 1)} MB (target ≤ 80 MB)`)
  line(readyMs <= 400, `start to /health/ready 200: ${format(readyMs)} ms (target ≤ 400 ms)`)
}

async function main () {
  if (referencesDir === undefined) {
    throw new Error('the reference servers were not found: set BENCH_REFERENCES_DIR to the folder holding peer-express/ and naive-fastify/')
  }
  requireWrk()
  const workDir = join(rootDir, '.data/bench')
  mkdirSync(workDir, { recursive: true })
  const scratch = mkdtempSync(join(tmpdir(), 'muejam-bench-'))
  const cleanups = [() => rmSync(scratch, { recursive: true, force: true })]
  try {
    console.log(`preparing: ${loadgenName}, ${seconds}s per load, ${warmupSeconds}s warm-up`)
    const peerDir = prepareReference(join(referencesDir, 'peer-express'), workDir)
    const naiveDir = prepareReference(join(referencesDir, 'naive-fastify'), workDir)
    const issuer = await startIssuer(scratch)
    cleanups.push(issuer.close)
    const sentry = await startSentrySink()
    cleanups.push(sentry.close)
    const database = await createDatabase()
    cleanups.push(database.drop)
    const storyId = await seed(database.url)
    const token = issuer.sign({ sub: 'user_bench_reader', sid: 'sess_bench_reader' })
    const shared = { DATABASE_URL: database.url, REDIS_URL: redisUrl, NODE_EXTRA_CA_CERTS: issuer.caFile }

    const ports = { muejam: await freePort(), peer: await freePort(), naive: await freePort(), bare: await freePort() }
    const ours = await startServer({
      name: 'muejam',
      script: join(apiDir, 'dist/bundle/server.js'),
      nodeArgs: [...productionNodeArgs, ...extraNodeArgs, ...profileArgs],
      logFile: join(workDir, 'muejam.log'),
      cwd: rootDir,
      ready: /Server listening/,
      env: {
        ...shared,
        NODE_ENV: 'production',
        HOST: '127.0.0.1',
        PORT: String(ports.muejam),
        SECRET_KEY: randomBytes(48).toString('base64url'),
        METRICS_TOKEN: randomBytes(32).toString('base64url'),
        SENTRY_DSN: sentry.dsn,
        AUTH_ISSUER: issuer.issuer,
        PUBLIC_URL: `https://127.0.0.1:${ports.muejam}`,
        TRUST_PROXY: '127.0.0.1',
        RATE_LIMIT_MAX: '1000000000',
        RATE_LIMIT_MAX_AUTHENTICATED: '1000000000',
        RATE_LIMIT_WRITE_MAX: '1000000000',
        SHUTDOWN_DRAIN_MS: '0'
      }
    })
    cleanups.push(ours.stop)
    // Measured before the references start, so nothing else competes for the cores.
    const readyMs = await millisecondsUntilOk(`http://127.0.0.1:${ports.muejam}/health/ready`, ours.startedAt)
    const servers = [
      ours,
      await startServer({ name: 'peer-express', script: 'server.js', cwd: peerDir, env: { ...shared, ISSUER: issuer.issuer, JWKS_URL: issuer.jwksUrl, PORT: String(ports.peer) } }),
      await startServer({ name: 'naive-fastify', script: 'server.js', cwd: naiveDir, env: { ...shared, ISSUER: issuer.issuer, PORT: String(ports.naive) } }),
      await startServer({ name: 'bare-fastify', script: join(apiDir, 'bench/bare-fastify.js'), cwd: apiDir, env: { PORT: String(ports.bare) } })
    ]
    for (const server of servers.slice(1)) cleanups.push(server.stop)

    const headers = { authorization: `Bearer ${token}`, 'x-forwarded-proto': 'https' }
    if (process.env.BENCH_PAUSE_SECONDS) {
      // For profiling by hand: the servers stay up with the request to send.
      writeFileSync(join(workDir, 'request.json'), JSON.stringify({ ports, storyId, headers }))
      console.log(`servers up for ${process.env.BENCH_PAUSE_SECONDS}s; request in ${join(workDir, 'request.json')}`)
      await new Promise((resolve) => setTimeout(resolve, Number(process.env.BENCH_PAUSE_SECONDS) * 1000))
    }
    const results = []
    for (const [server, port] of [[servers[0], ports.muejam], [servers[1], ports.peer], [servers[2], ports.naive], [servers[3], ports.bare]]) {
      if (only && !only.has(server.name)) continue
      const url = `http://127.0.0.1:${port}/v1/stories/${storyId}`
      const probe = await fetch(url, { headers })
      if (probe.status !== 200) throw new Error(`${server.name} answered ${probe.status} to the benchmarked request: ${await probe.text()}`)
      console.log(`loading ${server.name}…`)
      results.push(await measure(server, url, headers))
    }
    const writes = only && !only.has('muejam') ? undefined : await measureWrites(`http://127.0.0.1:${ports.muejam}/v1/stories`, headers)
    console.log('')
    report(results, { readyMs, writes })
  } finally {
    for (const cleanup of cleanups.reverse()) await cleanup()
  }
}

await main()
