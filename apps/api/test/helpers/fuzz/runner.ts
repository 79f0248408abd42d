import fc from 'fast-check'
import type { FuzzCase, PlanEntry } from './cases.js'
import { type Outcome, responseViolations, signatureOf, type Violation } from './invariants.js'
import { sendRaw } from './raw-http.js'
import { describeOutcome } from './reproduction.js'
import { changedTables, type RowSnapshots } from './row-snapshot.js'

/*
 * Runs the plan's entries in turn (in an order drawn from the seed), one fast-check run per
 * case with a seed derived from FUZZ_SEED and the run's index: every kind of damage reaches
 * every route, the same seed sends the same cases, and a failing case is shrunk to a minimal
 * one that fails the same way. A failure does not stop the run: each kind of failure is
 * reported once, shrunk, with how often it was met.
 */

export interface Finding {
  signature: string
  /** Cases that met it (the shrinking replays are not counted). */
  count: number
  routes: Set<string>
  kinds: Set<string>
  /** The run that first met it: `FUZZ_SEED=<seed>` and this index replay it. */
  run: number
  label: string
  /** The shrunk request and its answer. */
  reproduction: string
}

export interface FuzzReport {
  runs: number
  requests: number
  /** Requests whose input the document forbids. */
  mustRefuse: number
  statuses: Map<number, number>
  findings: Finding[]
}

export interface RunOptions {
  port: number
  seed: number
  runs: number
  plan: PlanEntry[]
  snapshots: RowSnapshots
  documentedCodes: ReadonlySet<string>
  /** Longest wait for one answer, in ms. */
  timeoutMs: number
  /** At most this many shrinking steps per finding. */
  maxShrinks?: number
  progress?: (line: string) => void
  /** Called once every entry of the plan ran once (caches and compiled code warm). */
  afterWarmUp?: () => Promise<void>
}

const runSeed = (seed: number, run: number) => (seed + Math.imul(run + 1, 0x9e3779b1)) | 0

export async function runFuzz ({ port, seed, runs, plan, snapshots, documentedCodes, timeoutMs, maxShrinks = 40, progress, afterWarmUp }: RunOptions): Promise<FuzzReport> {
  const order = fc.sample(fc.shuffledSubarray(plan, { minLength: plan.length }), { seed, numRuns: 1 })[0] as PlanEntry[]
  const findings = new Map<string, Finding>()
  const statuses = new Map<number, number>()
  let requests = 0
  let mustRefuse = 0

  async function send (fuzz: FuzzCase['requests'][number]): Promise<Outcome> {
    requests++
    if (fuzz.mustRefuse) mustRefuse++
    try {
      const response = await sendRaw(port, fuzz.request, timeoutMs)
      statuses.set(response.status, (statuses.get(response.status) ?? 0) + 1)
      return { fuzz, response }
    } catch (error) {
      return { fuzz, error: (error as Error).message }
    }
  }

  async function execute (fuzzCase: FuzzCase): Promise<Violation[]> {
    const before = await snapshots.take()
    const outcomes = await Promise.all(fuzzCase.requests.map(send))
    const changed = changedTables(before, await snapshots.take())
    const violations = outcomes.flatMap((outcome) => responseViolations(outcome, documentedCodes))
    const refused = outcomes.filter(({ response }) => response === undefined || response.status < 200 || response.status >= 300)
    // Concurrent cases are reads by users who all have a profile already: none may write.
    const mustNotWrite = fuzzCase.kind === 'concurrent_reads' ? outcomes : refused.length === outcomes.length ? refused : []
    const writer = mustNotWrite[0]
    if (changed.length > 0 && writer !== undefined) {
      const who = fuzzCase.kind === 'concurrent_reads' ? 'concurrent reads' : `a ${writer.response?.status ?? 'failed'} on ${writer.fuzz.route} [${writer.fuzz.kind}]`
      violations.push({ invariant: 'rows_unchanged', key: `${who} changed ${changed.map((table) => table.split(':')[0]).join(', ')}`, outcome: writer })
    }
    return violations
  }

  for (let run = 0; run < runs; run++) {
    const entry = order[run % order.length] as PlanEntry
    let target: string | undefined
    let minimal: Violation | undefined
    let others: Violation[] = []
    const property = fc.asyncProperty(fc.limitShrink(entry.arbitrary, maxShrinks), async (fuzzCase) => {
      const violations = await execute(fuzzCase)
      if (target === undefined) {
        const fresh = violations.filter((violation) => !findings.has(signatureOf(violation)))
        for (const violation of violations) {
          const known = findings.get(signatureOf(violation))
          if (known === undefined) continue
          known.count++
          known.routes.add(violation.outcome.fuzz.route)
          known.kinds.add(violation.outcome.fuzz.kind)
        }
        minimal = fresh[0]
        if (minimal === undefined) return true
        target = signatureOf(minimal)
        others = fresh.slice(1)
        return false
      }
      const same = violations.find((violation) => signatureOf(violation) === target)
      if (same === undefined) return true
      minimal = same
      return false
    })
    const details = await fc.check(property, { seed: runSeed(seed, run), numRuns: 1 })
    // A failure without a violation is the fuzzer's own (the database gone, say): stop there.
    if (details.failed && minimal === undefined) throw details.errorInstance ?? new Error(`run ${run} of ${entry.label} failed without a violation`)
    for (const violation of minimal === undefined ? [] : [minimal, ...others]) {
      const signature = signatureOf(violation)
      if (findings.has(signature)) continue
      findings.set(signature, {
        signature,
        count: 1,
        routes: new Set([violation.outcome.fuzz.route]),
        kinds: new Set([violation.outcome.fuzz.kind]),
        run,
        label: entry.label,
        reproduction: describeOutcome(violation.outcome)
      })
    }
    if (run + 1 === order.length) await afterWarmUp?.()
    if ((run + 1) % 500 === 0) progress?.(`${run + 1} runs, ${requests} requests, ${findings.size} kinds of failure`)
  }
  return { runs, requests, mustRefuse, statuses, findings: [...findings.values()] }
}
