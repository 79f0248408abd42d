import { isDataException } from '@muejam/db-pool'
import problem, { createProblemError, sendProblem, toProblem as renderAsProblem, type ProblemBody, type ProblemError } from '@muejam/problem'
import type { FastifyInstance, FastifyRequest } from 'fastify'

export { sendProblem, type ProblemBody }

/** The API's problem types: `urn:muejam:problem:<code>`. */
export const PROBLEM_TYPE_BASE = 'urn:muejam:problem:'

export interface ProblemOptions {
  /** Put stack traces into 5xx bodies (never in production). */
  debug: boolean
}

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

/** Renders any error as the API's problem; 5xx details stay generic unless `debug`. */
export function toProblem (error: unknown, request: FastifyRequest, debug = false): ProblemBody {
  return renderAsProblem(error, request, { typeBase: PROBLEM_TYPE_BASE, debug, mapError: invalidInput })
}

/** Error and not-found handlers that answer application/problem+json. */
export function registerProblemHandlers (app: FastifyInstance, { debug }: ProblemOptions) {
  app.register(problem, { typeBase: PROBLEM_TYPE_BASE, debug, mapError: invalidInput })
}
