import { type Operation, routeName } from './openapi.js'

/*
 * Routes the app serves but the OpenAPI document hides (health, metrics, the document
 * itself), read from Fastify's route tree (`app.printRoutes({ commonPrefix: false })`), so
 * they are fuzzed too, with what a client can know of them: their path and method.
 */

const TREE_LINE = /^((?:[│ ] {3})*)[├└]── (\S+)(?: \(([^)]*)\))?$/

/** Every method and path of a printed route tree; `:name` parameters become `{name}`. */
export function routesOfTree (tree: string): Array<Pick<Operation, 'method' | 'path'>> {
  const stack: string[] = []
  const routes: Array<Pick<Operation, 'method' | 'path'>> = []
  for (const line of tree.split('\n')) {
    const match = TREE_LINE.exec(line)
    if (match === null) continue
    const depth = (match[1] ?? '').length / 4
    stack.length = depth
    stack.push((match[2] ?? '').replace(/:([A-Za-z0-9_]+)/g, '{$1}'))
    const path = stack.join('')
    for (const method of (match[3] ?? '').split(',').map((name) => name.trim()).filter(Boolean)) routes.push({ method, path })
  }
  return routes
}

/** The routes of `tree` that `documented` lacks (HEAD aside: it follows GET), as operations without schemas. */
export function undocumentedOperations (tree: string, documented: readonly Operation[]): Operation[] {
  const known = new Set(documented.map(routeName))
  return routesOfTree(tree).filter((route) => route.method !== 'HEAD' && !known.has(routeName(route))).map(({ method, path }) => ({
    method,
    path,
    parameters: [...path.matchAll(/\{([^}]+)\}/g)].map((match) => ({ name: match[1] as string, in: 'path' as const, required: true, schema: { type: 'string' } })),
    secured: false
  }))
}
