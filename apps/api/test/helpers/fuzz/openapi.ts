/*
 * The routes to fuzz, read from the running app's OpenAPI document (`GET /docs/json`), so a
 * route added tomorrow is fuzzed without a change here. Only the parts of JSON Schema the
 * API's TypeBox schemas use are typed.
 */

export interface JsonSchema {
  type?: string
  properties?: Record<string, JsonSchema>
  required?: string[]
  additionalProperties?: boolean | JsonSchema
  minProperties?: number
  items?: JsonSchema
  minItems?: number
  maxItems?: number
  minLength?: number
  maxLength?: number
  pattern?: string
  format?: string
  minimum?: number
  maximum?: number
  enum?: unknown[]
  anyOf?: JsonSchema[]
  default?: unknown
}

export interface Parameter {
  name: string
  in: 'path' | 'query' | 'header' | 'cookie'
  required: boolean
  schema: JsonSchema
}

export interface Operation {
  method: string
  /** The path template, `/v1/stories/{id}`. */
  path: string
  parameters: Parameter[]
  /** The `application/json` request body, when there is one. */
  body?: JsonSchema
  /** Whether the document asks for a bearer token. */
  secured: boolean
  /** The 200 response's schema. */
  ok?: JsonSchema
}

interface OpenApiOperation {
  parameters?: Parameter[]
  requestBody?: { content?: Record<string, { schema?: JsonSchema }> }
  security?: unknown[]
  responses?: Record<string, { content?: Record<string, { schema?: JsonSchema }> }>
}

export interface OpenApiDocument {
  paths: Record<string, Record<string, OpenApiOperation>>
}

const METHODS = new Set(['get', 'put', 'post', 'delete', 'options', 'head', 'patch', 'trace'])

/** Every operation of the document, in its order. */
export function operationsOf (document: OpenApiDocument): Operation[] {
  return Object.entries(document.paths).flatMap(([path, item]) => Object.entries(item)
    .filter(([method]) => METHODS.has(method))
    .map(([method, operation]) => ({
      method: method.toUpperCase(),
      path,
      parameters: operation.parameters ?? [],
      body: operation.requestBody?.content?.['application/json']?.schema,
      secured: (operation.security ?? []).length > 0,
      ok: operation.responses?.['200']?.content?.['application/json']?.schema
    })))
}

/** `GET /v1/stories/{id}`. */
export const routeName = (operation: Pick<Operation, 'method' | 'path'>) => `${operation.method} ${operation.path}`

/** The template with each `{name}` replaced by `values[name]`, as given (encode first where meant). */
export function fillPath (template: string, values: Record<string, string>): string {
  return template.replace(/\{([^}]+)\}/g, (_, name: string) => values[name] ?? '')
}

/**
 * Operations whose 200 answer holds a list (`items`) that no `limit` parameter with a
 * `maximum` bounds: each lets a client make one response as large as the data.
 */
export function unboundedLists (operations: readonly Operation[]): Operation[] {
  return operations.filter((operation) => {
    const list = operation.ok?.type === 'array' || operation.ok?.properties?.items?.type === 'array'
    const limit = operation.parameters.find((parameter) => parameter.in === 'query' && parameter.name === 'limit')
    return list && limit?.schema.maximum === undefined
  })
}
