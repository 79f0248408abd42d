import { statfs } from 'node:fs/promises'

/**
 * Percentage of the file system holding `path` that is in use, as `df` reports it: blocks
 * reserved for root count as unavailable, so 100 % means an unprivileged process can no
 * longer write.
 */
export async function diskPercentUsed (path: string): Promise<number> {
  const stats = await statfs(path)
  const used = stats.blocks - stats.bfree
  const usable = used + stats.bavail
  return usable > 0 ? (used / usable) * 100 : 0
}
