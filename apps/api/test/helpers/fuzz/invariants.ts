import type { FuzzRequest } from './cases.js'
import type { RawResponse } from './raw-http.js'

/*
 * What must hold for every answer, whatever was sent. Each violation has a key that groups
 * its kind (status and code, not the exact bytes), so one defect is reported once with a
 * count, not once per request that meets it.
 */

export type Invariant =
  | 'answered' | 'no_5xx' | 'problem_json' | 'documented_code' | 'status_in_body' | 'small_problem' | 'refused' | 'rows_unchanged'

export interface Outcome {
  fuzz: FuzzRequest
  response?: RawResponse
  /** Why no response was read. */
  error?: string
}

export interface Violation {
  invariant: Invariant
  /** What groups it with others of its kind, e.g. `500 internal_error`. */
  key: string
  outcome: Outcome
}

/** A problem body never grows with the input (validation errors are capped). */
export const PROBLEM_MAX_BYTES = 16 * 1024

const isSuccess = (status: number) => status >= 200 && status < 300

function problemOf (body: Buffer): Record<string, unknown> | undefined {
  try {
    const parsed: unknown = JSON.parse(body.toString('utf8'))
    return parsed !== null && typeof parsed === 'object' && !Array.isArray(parsed) ? parsed as Record<string, unknown> : undefined
  } catch {
    return undefined
  }
}

/** The violations of one answer: every non-2xx a small problem+json body with a documented code. */
export function responseViolations (outcome: Outcome, documentedCodes: ReadonlySet<string>): Violation[] {
  const { fuzz, response } = outcome
  const violation = (invariant: Invariant, key: string): Violation => ({ invariant, key, outcome })
  // A server error or an accepted bad input is told apart by route and kind (each is its own
  // defect); a wrong content type or code by what was answered (one fix covers every route).
  const where = `on ${fuzz.route} [${fuzz.kind}]`
  if (response === undefined) return [violation('answered', `${(outcome.error ?? 'no response').replace(/\d+/g, 'N')} ${where}`)]
  const { status } = response
  const violations: Violation[] = []
  if (status >= 500) violations.push(violation('no_5xx', `${status} ${String(problemOf(response.body)?.code ?? '')} ${where}`))
  if (isSuccess(status)) {
    if (fuzz.mustRefuse) violations.push(violation('refused', `${status} ${where}`))
    return violations
  }
  const contentType = response.headers.get('content-type')?.join(', ') ?? 'none'
  if (!contentType.startsWith('application/problem+json')) {
    violations.push(violation('problem_json', `${status} as ${contentType}`))
    return violations
  }
  if (fuzz.request.method.toUpperCase() === 'HEAD') return violations
  if (response.body.length > PROBLEM_MAX_BYTES) violations.push(violation('small_problem', `a ${status} body over ${PROBLEM_MAX_BYTES} bytes`))
  const problem = problemOf(response.body)
  if (problem === undefined) {
    violations.push(violation('problem_json', `${status} body not a JSON object`))
    return violations
  }
  const code = problem.code
  if (typeof code !== 'string' || !documentedCodes.has(code)) violations.push(violation('documented_code', `${status} code ${JSON.stringify(code)} not documented`))
  if (problem.status !== status) violations.push(violation('status_in_body', `HTTP ${status}, body status ${JSON.stringify(problem.status)}`))
  return violations
}

/** Grouping key of a violation: the invariant and its kind. */
export const signatureOf = (violation: Violation) => `${violation.invariant}: ${violation.key}`
