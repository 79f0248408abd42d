import { setImmediate as nextTurn } from 'node:timers/promises'
import { setFlagsFromString } from 'node:v8'
import { runInNewContext } from 'node:vm'

/*
 * Heap measurement after full collections. tap starts test files without --expose-gc, so
 * the flag is set at run time and `gc` taken from a fresh context, where V8 then installs it.
 */

function collector (): () => void {
  const existing = (globalThis as { gc?: () => void }).gc
  if (existing !== undefined) return existing
  setFlagsFromString('--expose-gc')
  return runInNewContext('gc') as () => void
}

/** Used heap bytes after a few full collections, each after pending callbacks ran. */
export async function settledHeapUsed (): Promise<number> {
  const gc = collector()
  for (let i = 0; i < 4; i++) {
    await nextTurn()
    gc()
  }
  return process.memoryUsage().heapUsed
}
