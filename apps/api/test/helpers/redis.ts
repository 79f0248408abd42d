import { randomBytes } from 'node:crypto'
import { createTestRedis } from '@muejam/testing/redis'

interface Test {
  teardown(fn: () => unknown): void
}

/*
 * Spawned API processes cannot be given a key prefix (the configuration has none, and the
 * rate-limit keys always start with `muejam:rl:`). So a test that shares the test Redis
 * claims a whole logical database for itself and points REDIS_URL at it.
 */

const CLAIM_KEY = 'muejam-test:claimed-by'
const CLAIM_TTL_MS = 10 * 60_000
/** Database 0 is left to everything that uses key prefixes (package tests, the benchmark). */
const FIRST_DATABASE = 1
const RATE_LIMIT_KEYS = 'muejam:rl:*'

type Client = Awaited<ReturnType<typeof createTestRedis>>['client']

export interface ClaimedRedis {
  /** TEST_REDIS_URL with this database's number, for REDIS_URL. */
  url: string
  index: number
  /** A client on this database, for inspecting counters. */
  client: Client
  /** Deletes every rate-limit counter in this database. */
  clearCounters(): Promise<void>
}

async function deleteMatching (client: Client, pattern: string): Promise<void> {
  let cursor = '0'
  do {
    const [next, keys] = await client.scan(cursor, 'MATCH', pattern, 'COUNT', 500)
    if (keys.length > 0) await client.del(...keys)
    cursor = next
  } while (cursor !== '0')
}

/**
 * Claims a logical database of the test Redis that no other test holds (a `SET NX` marker
 * with an expiry, in case a run dies), for this test alone. At teardown its rate-limit
 * counters are deleted and the claim released. Fails with how to start Redis when absent.
 */
export async function claimRedisDatabase (t: Test, label: string): Promise<ClaimedRedis> {
  const shared = await createTestRedis(t, label)
  const owner = `${label}:${process.pid}:${randomBytes(4).toString('hex')}`
  const databases = Number((await shared.client.config('GET', 'databases') as string[])[1] ?? 16)
  for (let index = FIRST_DATABASE; index < databases; index++) {
    const client = shared.client.duplicate({ db: index })
    const claimed = await client.set(CLAIM_KEY, owner, 'PX', CLAIM_TTL_MS, 'NX')
    if (claimed !== 'OK') {
      await client.quit()
      continue
    }
    const clearCounters = () => deleteMatching(client, RATE_LIMIT_KEYS)
    // Left by an earlier run that died before its teardown.
    await clearCounters()
    t.teardown(async () => {
      await clearCounters()
      if (await client.get(CLAIM_KEY) === owner) await client.del(CLAIM_KEY)
      await client.quit()
    })
    const url = new URL(shared.url)
    url.pathname = `/${index}`
    return { url: url.href, index, client, clearCounters }
  }
  throw new Error(`every Redis database from ${FIRST_DATABASE} to ${databases - 1} is claimed by another test; wait for them to finish or raise "databases" in redis.conf`)
}
