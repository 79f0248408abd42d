import type { FastifyError } from 'fastify'
import { clip } from './clip.js'

type Validation = NonNullable<FastifyError['validation']>

/*
 * Bounds on the validation list, so that a problem stays under 16 KiB for any input, even
 * field names that JSON escapes six-fold (\u0001): 20 errors of at most 64 + 100 characters.
 */
const ERRORS_MAX = 20
const FIELD_MAX = 64
const MESSAGE_MAX = 100

export interface FieldError {
  field: string
  message: string
}

/** The first errors, as `{ field, message }`, and how many more there were (`errors_omitted`). */
export function fieldErrors (validation: Validation, context: string | undefined): { errors: FieldError[], errors_omitted?: number } {
  const errors = validation.slice(0, ERRORS_MAX).map((issue) => {
    const params = (issue.params ?? {}) as Record<string, unknown>
    const child = params.missingProperty ?? params.additionalProperty
    const path = [context, ...(issue.instancePath ?? '').split('/').filter(Boolean), child].filter(Boolean).join('.')
    return { field: clip(path, FIELD_MAX), message: clip(issue.message ?? 'is invalid', MESSAGE_MAX) }
  })
  const omitted = validation.length - errors.length
  return omitted > 0 ? { errors, errors_omitted: omitted } : { errors }
}
