import { Ajv, type Options } from 'ajv'
import addFormats from 'ajv-formats'
import type { FastifyInstance } from 'fastify'
import fp from 'fastify-plugin'

function createAjv (coerceTypes: Options['coerceTypes']): Ajv {
  const ajv = new Ajv({ allErrors: true, removeAdditional: false, useDefaults: true, coerceTypes, strict: false })
  addFormats.default(ajv)
  return ajv
}

/**
 * Query strings, path parameters and headers arrive as text and are coerced to their
 * schema types (`limit=20` is a number); JSON bodies are not: a title of `42` is a type
 * error, not the string "42".
 */
async function validation (app: FastifyInstance) {
  const bodies = createAjv(false)
  const textParts = createAjv('array')
  app.setValidatorCompiler(({ schema, httpPart }) => (httpPart === 'body' ? bodies : textParts).compile(schema))
}

// Shared scope: the compiler must reach every route, health and metrics included.
export default fp(validation, { name: 'muejam-api-validation', fastify: '>=5.12.0 <6' })
