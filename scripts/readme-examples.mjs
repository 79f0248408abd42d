// Each public package's README opens with code that runs: its first code block must be, byte
// for byte, an example file that `pnpm test:examples` type-checks and runs from the packed
// tarballs. When the example file marks a region (`// #region readme` … `// #endregion readme`),
// the block is that region alone. Run alone: `node scripts/readme-examples.mjs`.
import { existsSync, readFileSync } from 'node:fs'
import { join } from 'node:path'
import { pathToFileURL } from 'node:url'
import { publicPackages, root } from './public-packages.mjs'

/** README → the example file its first code block shows. Every public package has one row. */
export const README_EXAMPLES = {
  'packages/auth/README.md': 'examples/service/src/auth.ts',
  'packages/circuit-breaker/README.md': 'examples/service/src/circuit-breaker.ts',
  'packages/config/README.md': 'examples/service/src/config.ts',
  'packages/db-pool/README.md': 'examples/service/src/database.ts',
  'packages/health/README.md': 'examples/service/src/health.ts',
  'packages/observability/README.md': 'examples/service/src/observability.ts',
  'packages/problem/README.md': 'examples/service/src/problem.ts',
  'packages/rate-limit/README.md': 'examples/service/src/rate-limit.ts',
  'packages/timeouts/README.md': 'examples/service/src/timeouts.ts',
  'packages/tracing/README.md': 'examples/service/src/tracing.ts'
}

const REGION_START = /^\s*\/\/ #region readme\s*$/
const REGION_END = /^\s*\/\/ #endregion readme\s*$/

/** The text of the first fenced code block, or null when there is none. */
export function firstCodeBlock (markdown) {
  const lines = markdown.split('\n')
  const start = lines.findIndex((line) => /^(```|~~~)/.test(line))
  if (start === -1) return null
  const fence = lines[start].match(/^(```+|~~~+)/)[1]
  const end = lines.findIndex((line, index) => index > start && line.startsWith(fence) && line.trim() === fence)
  if (end === -1) return null
  return lines.slice(start + 1, end).join('\n') + '\n'
}

/** The part of an example file a README shows: the marked region, else the whole file. */
export function shownPart (source) {
  const lines = source.split('\n')
  const start = lines.findIndex((line) => REGION_START.test(line))
  if (start === -1) return source
  const end = lines.findIndex((line, index) => index > start && REGION_END.test(line))
  if (end === -1) throw new Error('"// #region readme" without "// #endregion readme"')
  return lines.slice(start + 1, end).join('\n') + '\n'
}

function firstDifference (expected, actual) {
  const want = expected.split('\n')
  const got = actual.split('\n')
  for (let index = 0; index < Math.max(want.length, got.length); index++) {
    if (want[index] !== got[index]) {
      return `first difference at line ${index + 1} of the block:\n` +
        `      example: ${want[index] === undefined ? '(ends here)' : JSON.stringify(want[index])}\n` +
        `      README:  ${got[index] === undefined ? '(ends here)' : JSON.stringify(got[index])}`
    }
  }
  return 'they differ'
}

/** One message per README that does not open with its example; an empty list when all do. */
export function checkReadmeExamples () {
  const problems = []
  for (const pkg of publicPackages()) {
    const readme = `${pkg.dir.slice(root.length + 1)}/README.md`
    if (!(readme in README_EXAMPLES)) {
      problems.push(`${readme}: no row in README_EXAMPLES (scripts/readme-examples.mjs): name the example file it opens with.`)
    }
  }
  for (const [readme, example] of Object.entries(README_EXAMPLES)) {
    const fix = `Make the first code block of ${readme} a copy of ${example} (its "// #region readme" if it marks one).`
    if (!existsSync(join(root, readme))) { problems.push(`${readme}: missing.`); continue }
    if (!existsSync(join(root, example))) { problems.push(`${readme}: its example ${example} is missing.`); continue }
    let expected
    try {
      expected = shownPart(readFileSync(join(root, example), 'utf8'))
    } catch (error) {
      problems.push(`${example}: ${error.message}`)
      continue
    }
    const actual = firstCodeBlock(readFileSync(join(root, readme), 'utf8'))
    if (actual === null) problems.push(`${readme}: has no code block. ${fix}`)
    else if (actual !== expected) problems.push(`${readme}: its first code block is not ${example}; ${firstDifference(expected, actual)}\n    ${fix}`)
  }
  return problems
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? '').href) {
  const problems = checkReadmeExamples()
  for (const problem of problems) console.error(problem)
  if (problems.length > 0) process.exit(1)
  console.log(`Every README opens with its example (${Object.keys(README_EXAMPLES).length} checked).`)
}
