import type { AddressInfo } from 'node:net'
import { connectAdmin } from '@muejam/testing/database'
import { startJwksServer } from '@muejam/testing/jwks'
import t from 'tap'
import { build, databaseEnv } from './helpers/build.js'
import { fuzzPlan, type FuzzTarget } from './helpers/fuzz/cases.js'
import { documentedCodes } from './helpers/fuzz/documented-codes.js'
import { settledHeapUsed } from './helpers/fuzz/heap.js'
import type { Invariant } from './helpers/fuzz/invariants.js'
import { type OpenApiDocument, operationsOf, routeName, unboundedLists } from './helpers/fuzz/openapi.js'
import { undocumentedOperations } from './helpers/fuzz/registered-routes.js'
import { rowSnapshots } from './helpers/fuzz/row-snapshot.js'
import { type Finding, runFuzz } from './helpers/fuzz/runner.js'
import { SchemaJudge } from './helpers/fuzz/schema-values.js'
import { seedData } from './helpers/fuzz/seed-data.js'
import { fuzzSettings } from './helpers/fuzz/settings.js'
import { tokenChoices } from './helpers/fuzz/tokens.js'
import { claimRedisDatabase } from './helpers/redis.js'

/*
 * The API on a real socket, over real PostgreSQL and Redis, sent every route's valid and
 * invalid inputs (see helpers/fuzz/). FUZZ_SEED picks the cases, FUZZ_RUNS how many.
 */

const { seed, runs } = fuzzSettings()
const USERS = ['user_2fuzzAuthorAda', 'user_2fuzzAuthorBo', 'user_2fuzzReaderCy', 'user_2fuzzModeratorDee']
const AUDIENCE = 'muejam-fuzz'
/** Longest wait for one answer: far above any answer (all local), far below REQUEST_TIMEOUT_MS. */
const ANSWER_TIMEOUT_MS = 15_000
/**
 * How far the heap may stay above its warm baseline after full collections: room for what V8
 * keeps at its discretion (compiled code, inline caches), far below what a per-request leak
 * over thousands of requests holds.
 */
const HEAP_SLACK_BYTES = 16 * 1024 * 1024

const INVARIANTS: Array<[Invariant, string]> = [
  ['answered', 'every request gets an answer'],
  ['no_5xx', 'no answer is a 5xx'],
  ['problem_json', 'every non-2xx is application/problem+json'],
  ['documented_code', 'every problem code is documented'],
  ['status_in_body', 'every problem\'s status is the HTTP status'],
  ['small_problem', 'no problem body is over 16 KiB'],
  ['refused', 'no input the document forbids is accepted'],
  ['rows_unchanged', 'no refused request (and no read) changes a row']
]

function render (finding: Finding): string {
  return `${finding.signature}\n  met ${finding.count} time(s) by ${[...finding.kinds].join(', ')} on ${[...finding.routes].join(', ')}; first in run ${finding.run} (${finding.label}) of FUZZ_SEED=${seed} FUZZ_RUNS=${runs}\n  minimal reproduction: ${finding.reproduction.replace(/\n/g, '\n  ')}`
}

t.test(`fuzzing every route, FUZZ_SEED=${seed} FUZZ_RUNS=${runs}`, async (t) => {
  const env = await databaseEnv(t, 'fuzz')
  const redis = await claimRedisDatabase(t, 'api-fuzz')
  const jwks = await startJwksServer(t)
  const app = await build(t, {
    ...env,
    REDIS_URL: redis.url,
    AUTH_ISSUER: jwks.issuer,
    AUTH_JWT_KEY: '',
    AUTH_AUDIENCE: AUDIENCE,
    METRICS_TOKEN: 'fuzz-metrics-token',
    // The fuzzer is one client sending thousands of requests: limits would answer most of them.
    RATE_LIMIT_MAX: '100000000',
    RATE_LIMIT_MAX_AUTHENTICATED: '100000000',
    RATE_LIMIT_WRITE_MAX: '100000000'
  })
  await app.listen({ host: '127.0.0.1', port: 0 })
  const { port } = app.server.address() as AddressInfo
  const client = await connectAdmin(env.DATABASE_URL)
  t.teardown(() => client.end())

  const tokens = await tokenChoices({ jwks, audience: AUDIENCE, users: USERS })
  const signIn = USERS.map((_, user) => tokens.find((token) => token.user === user)?.authorization as string)
  const operations = operationsOf((await app.inject('/docs/json')).json() as OpenApiDocument)
  const seeded = await seedData(app, client, signIn, operations)
  const targets: FuzzTarget[] = [
    ...operations.map((operation) => ({ operation, documented: true })),
    ...undocumentedOperations(app.printRoutes({ commonPrefix: false }), operations).map((operation) => ({ operation, documented: false }))
  ]
  const { codes, files } = documentedCodes()
  t.ok(codes.has('validation_failed') && codes.has('story_not_found'), `documented codes read from ${files.length} files: ${[...codes].sort().join(', ')}`)
  t.same(unboundedLists(operations).map(routeName), [], 'every list the document describes is paged by a limit with a maximum')

  const plan = fuzzPlan({
    targets,
    tokens,
    stories: seeded.stories,
    known: seeded.known,
    judge: new SchemaJudge(),
    bodyLimit: app.config.BODY_LIMIT_BYTES
  })
  t.comment(`${targets.length} routes (${operations.length} documented), ${plan.length} plan entries, ${tokens.length} authorizations, ${codes.size} documented codes`)
  let heapBaseline = await settledHeapUsed()
  const report = await runFuzz({
    port,
    seed,
    runs,
    plan,
    snapshots: await rowSnapshots(client),
    documentedCodes: codes,
    timeoutMs: ANSWER_TIMEOUT_MS,
    progress: (line) => t.comment(line),
    afterWarmUp: async () => { heapBaseline = await settledHeapUsed() }
  })
  const heapAfter = await settledHeapUsed()
  const statuses = [...report.statuses].sort(([a], [b]) => a - b).map(([status, count]) => `${status}×${count}`).join(' ')
  t.comment(`${report.runs} runs sent ${report.requests} requests (${report.mustRefuse} of inputs the document forbids): ${statuses}`)

  for (const [invariant, description] of INVARIANTS) {
    const found = report.findings.filter((finding) => finding.signature.startsWith(`${invariant}:`))
    t.equal(found.length, 0, description, { seed, runs, findings: found.map(render) })
  }
  const growth = heapAfter - heapBaseline
  t.ok(growth <= HEAP_SLACK_BYTES, `the heap returns to its baseline (${(heapBaseline / 2 ** 20).toFixed(1)} MiB warm, ${(heapAfter / 2 ** 20).toFixed(1)} MiB after, ${(growth / 2 ** 20).toFixed(1)} MiB more)`, { seed, runs })
})
