/**
 * The `p`th percentile (0–100) of `values`, by nearest rank; `Infinity` when there are none, so
 * a bound checked on it fails rather than passes.
 */
export function percentile (values: readonly number[], p: number): number {
  const sorted = [...values].sort((a, b) => a - b)
  return sorted[Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1)] ?? Number.POSITIVE_INFINITY
}
