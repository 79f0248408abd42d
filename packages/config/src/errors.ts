import { createMissingPeerError } from '@muejam/problem'

/** One thing wrong with the configuration, described without its value. */
export interface Problem {
  variable: string
  /** What the variable is for. */
  purpose: string
  /** What is wrong with it. */
  problem: string
  /** How to fix it. */
  fix: string
}

/** What a cross-variable rule reports: the schema supplies the purpose. */
export type RuleProblem = Omit<Problem, 'purpose'>

/** EX_CONFIG from sysexits.h: the process was started with a bad configuration. */
export const EX_CONFIG = 78

/** Every configuration problem at once, so an operator fixes them in one round. */
export class ConfigError extends Error {
  readonly code = 'MUEJAM_CONFIG_INVALID'
  readonly exitCode = EX_CONFIG
  readonly problems: readonly Problem[]

  constructor (problems: readonly Problem[]) {
    super(formatProblems(problems))
    this.name = 'ConfigError'
    this.problems = problems
  }
}

function formatProblems (problems: readonly Problem[]): string {
  const lines = problems.map(({ variable, purpose, problem, fix }) =>
    `  - ${variable}${purpose === '' ? '' : ` (${purpose})`} ${problem}. Fix: ${fix}.`)
  const count = problems.length === 1 ? '1 problem' : `${problems.length} problems`
  return `Invalid configuration (${count}):\n${lines.join('\n')}`
}

/** The optional peer a configured source needs is not installed. */
export const MissingPeerError = createMissingPeerError('@muejam/config')
