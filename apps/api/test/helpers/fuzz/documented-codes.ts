import { existsSync, readdirSync, readFileSync } from 'node:fs'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'

/*
 * The problem codes the documentation promises: every Markdown table of the repository's
 * READMEs and docs/ that has a `code` column. The app exports no list of its codes, so the
 * documents are the contract a client reads, and a code they do not list is a defect of the
 * code or of the documents.
 */

const REPOSITORY = fileURLToPath(new URL('../../../../../', import.meta.url))
const PROBLEM_CODE = /^[a-z][a-z0-9_]*$/

function cells (row: string): string[] {
  return row.trim().replace(/^\||\|$/g, '').split('|').map((cell) => cell.trim())
}

function markdownFiles (): string[] {
  const inside = (folder: string) => readdirSync(join(REPOSITORY, folder)).map((name) => join(REPOSITORY, folder, name))
  const readmes = [...inside('apps'), ...inside('packages')].map((folder) => join(folder, 'README.md'))
  const docs = inside('docs').filter((file) => file.endsWith('.md'))
  return [join(REPOSITORY, 'README.md'), ...readmes, ...docs].filter((file) => existsSync(file))
}

/** Codes of the `code` column of every table in `markdown`. */
export function codesInMarkdown (markdown: string): string[] {
  const codes: string[] = []
  let column = -1
  for (const line of markdown.split('\n')) {
    if (!line.trimStart().startsWith('|')) {
      column = -1
      continue
    }
    const row = cells(line)
    if (column === -1) {
      column = row.findIndex((cell) => cell.replace(/`/g, '').toLowerCase() === 'code')
      continue
    }
    const code = /`([^`]+)`/.exec(row[column] ?? '')?.[1]
    if (code !== undefined && PROBLEM_CODE.test(code)) codes.push(code)
  }
  return codes
}

/** Every problem code the repository documents, and the files it read them from. */
export function documentedCodes (): { codes: Set<string>, files: string[] } {
  const files = markdownFiles()
  return { codes: new Set(files.flatMap((file) => codesInMarkdown(readFileSync(file, 'utf8')))), files }
}
