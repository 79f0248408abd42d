/**
 * What the plugin costs per request, in four measurements:
 *  1. the duration histogram alone: one observation, ours against prom-client's Histogram;
 *  2. the same route with and without the plugin through `app.inject()` (in process);
 *  3. the same route served by a real HTTP server in a child process, driven over raw
 *     keep-alive sockets by a tiny load generator in this process;
 *  4. that server under load with --cpu-prof: the self time of this package's own code
 *     (hooks, histogram, prom-client) per request, which does not depend on how busy the
 *     machine is.
 * Variants run alternately in many short rounds and the best round of each is kept: on a
 * shared machine, noise only ever adds time. Costs are CPU time (process.cpuUsage), which
 * other processes competing for the cores inflate far less than wall time.
 *
 *   pnpm --filter @muejam/observability bench [-- --rounds 15 --requests 5000 --seconds 2 --connections 50 --mode all|micro|inject|http|profile]
 *
 * Results are printed, never asserted: timed targets do not belong in tests.
 */
import { fork } from 'node:child_process'
import { once } from 'node:events'
import { mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs'
import { connect } from 'node:net'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { parseArgs } from 'node:util'
import Fastify, { type FastifyInstance } from 'fastify'
import { Histogram, Registry } from 'prom-client'
import observability, { requestIdFrom } from '../src/index.js'
import { DEFAULT_DURATION_BUCKETS, RequestDurationHistogram } from '../src/request-histogram.js'

const { values: args } = parseArgs({
  options: {
    rounds: { type: 'string', default: '15' },
    requests: { type: 'string', default: '5000' },
    seconds: { type: 'string', default: '2' },
    connections: { type: 'string', default: '50' },
    mode: { type: 'string', default: 'all' },
    serve: { type: 'string' }
  }
})

const URL_PATH = '/v1/stories/1c8e5b36-6c1e-4a53-9a57-2f6d3c1f0a11'
const STORY = { id: '1c8e5b36-6c1e-4a53-9a57-2f6d3c1f0a11', title: 'A story', description: 'Short.', published_at: '2026-01-01T00:00:00.000Z' }

/** CPU time of this process so far, in ns. */
function cpuNs (): number {
  const { user, system } = process.cpuUsage()
  return (user + system) * 1000
}

async function buildApp (instrumented: boolean): Promise<FastifyInstance> {
  const app = Fastify({ logger: false, genReqId: requestIdFrom })
  if (instrumented) await app.register(observability)
  app.get('/v1/stories/:id', async () => STORY)
  await app.ready()
  return app
}

/** Best (lowest) cost per variant over alternating rounds. */
async function alternate (rounds: number, variants: Record<string, () => Promise<number> | number>) {
  const best: Record<string, number> = {}
  for (let round = 0; round < rounds; round++) {
    for (const [name, run] of Object.entries(variants)) {
      const cost = await run()
      best[name] = Math.min(best[name] ?? Number.POSITIVE_INFINITY, cost)
    }
  }
  return best
}

function micro (rounds: number) {
  const observations = 200_000
  const routes = ['/v1/stories', '/v1/stories/:id', '/v1/stories/:id/chapters', '/v1/me']
  const statuses = [200, 201, 404]
  const ours = new RequestDurationHistogram(new Registry(), 'http_request_duration_seconds', DEFAULT_DURATION_BUCKETS)
  const theirs = new Histogram({
    name: 'bench_duration_seconds',
    help: 'prom-client histogram',
    labelNames: ['method', 'route', 'status'],
    buckets: [...DEFAULT_DURATION_BUCKETS],
    registers: [new Registry()]
  })
  const timed = (observe: (i: number) => void) => () => {
    const started = process.hrtime.bigint()
    for (let i = 0; i < observations; i++) observe(i)
    return Number(process.hrtime.bigint() - started) / observations
  }
  return alternate(rounds, {
    'this package (Map lookups, no allocation)': timed((i) =>
      ours.observe(routes[i & 3] as string, 'GET', statuses[i % 3] as number, (i % 100) / 1000)),
    'prom-client Histogram.observe(labels, v)': timed((i) =>
      theirs.observe({ method: 'GET', route: routes[i & 3] as string, status: String(statuses[i % 3]) }, (i % 100) / 1000))
  })
}

async function inject (rounds: number, requests: number) {
  const bare = await buildApp(false)
  const instrumented = await buildApp(true)
  const round = (app: FastifyInstance) => async () => {
    const started = cpuNs()
    for (let i = 0; i < requests; i++) await app.inject(URL_PATH)
    return (cpuNs() - started) / requests
  }
  for (const app of [bare, instrumented]) await round(app)()
  const best = await alternate(rounds, { without: round(bare), with: round(instrumented) })
  const scrapeStarted = cpuNs()
  for (let i = 0; i < 100; i++) await instrumented.inject('/metrics')
  const scrapeMs = (cpuNs() - scrapeStarted) / 100 / 1e6
  await bare.close()
  await instrumented.close()
  return { without: best.without, with: best.with, scrapeMs }
}

/**
 * Raw keep-alive sockets, one request in flight per connection, a response counted when its
 * status line arrives: far cheaper per request than an HTTP client, so the server saturates.
 */
async function load (port: number, seconds: number, connections: number): Promise<number> {
  const payload = Buffer.from(`GET ${URL_PATH} HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n`)
  const until = performance.now() + seconds * 1000
  let done = 0
  await Promise.all(Array.from({ length: connections }, () => new Promise<void>((resolve, reject) => {
    const socket = connect(port, '127.0.0.1', () => socket.write(payload))
    socket.setNoDelay(true)
    socket.on('error', reject)
    socket.on('close', () => resolve())
    socket.on('data', (chunk: Buffer) => {
      let responses = 0
      for (let at = chunk.indexOf('HTTP/1.1 200'); at !== -1; at = chunk.indexOf('HTTP/1.1 200', at + 1)) responses++
      done += responses
      if (performance.now() >= until) socket.end()
      else for (let i = 0; i < responses; i++) socket.write(payload)
    })
  })))
  return done
}

/** Child process: serves, and reports its own CPU time between `mark` messages. */
async function serve (instrumented: boolean) {
  const app = await buildApp(instrumented)
  await app.listen({ port: 0, host: '127.0.0.1' })
  const address = app.server.address()
  process.send?.({ port: typeof address === 'object' && address !== null ? address.port : 0 })
  process.on('message', (message) => {
    if (message === 'mark') process.send?.({ cpu: cpuNs() })
    else app.close().then(() => process.exit(0), () => process.exit(1))
  })
}

async function http (rounds: number, seconds: number, connections: number) {
  const servers = await Promise.all([false, true].map(async (instrumented) => {
    const child = fork(new URL(import.meta.url), ['--serve', instrumented ? 'with' : 'without'], { stdio: 'inherit' })
    const [{ port }] = await once(child, 'message') as [{ port: number }]
    const mark = async () => { child.send('mark'); const [{ cpu }] = await once(child, 'message') as [{ cpu: number }]; return cpu }
    return { port, mark, stop: async () => { child.send('stop'); await once(child, 'exit') } }
  }))
  const throughput: Record<string, number> = {}
  const round = (name: string, target: (typeof servers)[number]) => async () => {
    const before = await target.mark()
    const served = await load(target.port, seconds, connections)
    const cost = (await target.mark() - before) / served
    throughput[name] = Math.max(throughput[name] ?? 0, served / seconds)
    return cost
  }
  for (const target of servers) await load(target.port, 1, connections)
  const best = await alternate(rounds, { without: round('without', servers[0]!), with: round('with', servers[1]!) })
  for (const target of servers) await target.stop()
  return { cpu: best, throughput }
}

interface CpuProfile {
  nodes: Array<{ id: number, callFrame: { functionName: string, url: string, lineNumber: number } }>
  samples: number[]
  timeDeltas: number[]
}

/** Self time of this package's functions (and prom-client's) per request, from a CPU profile of the server. */
async function profile (seconds: number, connections: number) {
  const dir = mkdtempSync(join(tmpdir(), 'muejam-observability-profile-'))
  try {
    const child = fork(new URL(import.meta.url), ['--serve', 'with'], {
      stdio: 'inherit',
      execArgv: [...process.execArgv, '--cpu-prof', '--cpu-prof-interval=50', `--cpu-prof-dir=${dir}`]
    })
    const [{ port }] = await once(child, 'message') as [{ port: number }]
    await load(port, 1, connections)
    const served = await load(port, seconds, connections)
    child.send('stop')
    await once(child, 'exit')
    const [file] = readdirSync(dir)
    const cpu = JSON.parse(readFileSync(join(dir, file as string), 'utf8')) as CpuProfile
    const frames = new Map(cpu.nodes.map((node) => [node.id, node.callFrame]))
    const self = new Map<string, number>()
    cpu.samples.forEach((id, i) => {
      const frame = frames.get(id)
      if (frame === undefined || !/observability\/src\/|prom-client/.test(frame.url)) return
      const name = `${frame.functionName || '(anonymous)'} ${frame.url.replace(/^.*\/(observability\/src|prom-client)\//, '$1/')}:${frame.lineNumber + 1}`
      self.set(name, (self.get(name) ?? 0) + (cpu.timeDeltas[i] ?? 0))
    })
    // Requests of the warm-up second are in the profile too.
    const requests = served + served / seconds
    return { requests, frames: [...self.entries()].sort((a, b) => b[1] - a[1]).map(([name, us]) => [name, us * 1000 / requests] as const) }
  } finally {
    rmSync(dir, { recursive: true, force: true })
  }
}

const ns = (value: number | undefined) => `${(value ?? Number.NaN).toFixed(0).padStart(7)} ns`

async function main () {
  if (args.serve !== undefined) return serve(args.serve === 'with')
  const rounds = Number(args.rounds)
  const mode = args.mode
  console.log(`node ${process.version}, best of ${rounds} alternating rounds`)
  if (mode === 'all' || mode === 'micro') {
    const result = await micro(rounds)
    console.log('\n1. one histogram observation (method, route, status)')
    for (const [name, cost] of Object.entries(result)) console.log(`  ${name.padEnd(44)} ${ns(cost)}`)
  }
  if (mode === 'all' || mode === 'inject') {
    const result = await inject(rounds, Number(args.requests))
    console.log(`\n2. app.inject() loop, ${args.requests} requests per round, CPU time per request`)
    console.log(`  without plugin  ${ns(result.without)}`)
    console.log(`  with plugin     ${ns(result.with)}`)
    console.log(`  plugin cost     ${ns((result.with ?? 0) - (result.without ?? 0))}`)
    console.log(`  one /metrics scrape (process metrics on): ${result.scrapeMs.toFixed(2)} ms CPU`)
  }
  if (mode === 'all' || mode === 'http') {
    const result = await http(rounds, Number(args.seconds), Number(args.connections))
    console.log(`\n3. real server (child process), ${args.connections} keep-alive connections, ${args.seconds} s rounds, server CPU time per request`)
    console.log(`  without plugin  ${ns(result.cpu.without)}   best ${result.throughput.without?.toFixed(0)} req/s`)
    console.log(`  with plugin     ${ns(result.cpu.with)}   best ${result.throughput.with?.toFixed(0)} req/s`)
    console.log(`  plugin cost     ${ns((result.cpu.with ?? 0) - (result.cpu.without ?? 0))}`)
  }
  if (mode === 'all' || mode === 'profile') {
    const seconds = Math.max(5, Number(args.seconds))
    const result = await profile(seconds, Number(args.connections))
    // Frames under 5 ns are mostly start-up work (module loading, registration) spread over the run.
    const shown = result.frames.filter(([, cost]) => cost >= 5)
    const total = shown.reduce((sum, [, cost]) => sum + cost, 0)
    console.log(`\n4. CPU profile of the server with the plugin, ${result.requests.toFixed(0)} requests: self time of this package's code per request`)
    for (const [name, cost] of shown) console.log(`  ${ns(cost)}  ${name}`)
    console.log(`  ${ns(total)}  in all (sampled every 50 µs: small frames are estimates)`)
  }
}

await main()
