/*
 * FUZZ_SEED and FUZZ_RUNS. The default seed is fixed, so CI sends the same requests every
 * time; the default number of runs sends about 2 000 requests (a run is one request, or up to
 * eight concurrent reads about one run in ten).
 */

export const DEFAULT_SEED = 20_251_130
export const DEFAULT_RUNS = 1_500

function whole (name: string, value: string | undefined, fallback: number, min: number): number {
  if (value === undefined || value === '') return fallback
  const parsed = Number(value)
  if (!Number.isSafeInteger(parsed) || parsed < min) throw new Error(`${name} must be a whole number from ${min}, got ${JSON.stringify(value)}`)
  return parsed
}

export interface FuzzSettings {
  seed: number
  runs: number
}

export function fuzzSettings (env: NodeJS.ProcessEnv = process.env): FuzzSettings {
  return {
    seed: whole('FUZZ_SEED', env.FUZZ_SEED, DEFAULT_SEED, -(2 ** 31)) | 0,
    runs: whole('FUZZ_RUNS', env.FUZZ_RUNS, DEFAULT_RUNS, 1)
  }
}
