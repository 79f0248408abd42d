import { isDataException } from '@muejam/db-pool'
import { createProblemError, toProblem as renderAsProblem, type ProblemBody, type ProblemError, type ProblemOptions } from '@muejam/problem'
import type { FastifyRequest } from 'fastify'

/** The API's problem types: `urn:muejam:problem:<code>`. */
export const PROBLEM_TYPE_BASE = 'urn:muejam:problem:'

/**
 * SQLSTATE class 22, data exception: PostgreSQL refused a value the request carried (text it
 * cannot parse as the column's type, a number out of range, a NUL byte). The client's to fix;
 * the database's message quotes the value and the SQL type, so it is replaced.
 */
const InvalidInputError = createProblemError({
  code: 'invalid_input',
  statusCode: 400,
  message: () => 'A value in the request is not one the database can store: malformed, out of range, too long, or holding a character such as NUL.'
})

function invalidInput (error: unknown): ProblemError | undefined {
  return isDataException(error) ? new InvalidInputError({ cause: error }) : undefined
}

/**
 * `@muejam/problem`'s options for this API; `debug` puts stack traces into 5xx bodies (never in
 * production). Unmatched requests are answered by routes/method-not-allowed.ts (404 or 405).
 */
export function problemOptions (debug: boolean): ProblemOptions {
  return { typeBase: PROBLEM_TYPE_BASE, debug, mapError: invalidInput, notFound: false }
}

/** Renders any error as the API's problem, for answers written outside the error handler. */
export function toProblem (error: unknown, request: FastifyRequest, debug = false): ProblemBody {
  return renderAsProblem(error, request, problemOptions(debug))
}
