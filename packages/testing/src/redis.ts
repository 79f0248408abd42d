import { randomBytes } from 'node:crypto'
import { Redis } from 'ioredis'

export const TEST_REDIS_URL = process.env.TEST_REDIS_URL ?? 'redis://127.0.0.1:6379'

const START_HINT = 'Start Redis with: redis-server --daemonize yes --bind 127.0.0.1 -::1 --port 6379 --save "" --appendonly no ' +
  '(or point TEST_REDIS_URL at a running Redis).'

interface Teardown { teardown(fn: () => unknown): void }

export interface TestRedis {
  url: string
  /** A key prefix of this test file's own; its keys are deleted at teardown. */
  prefix: string
  client: Redis
}

/** Connects to TEST_REDIS_URL with a prefix of its own, failing with how to start Redis. */
export async function createTestRedis (t: Teardown, label = 'test'): Promise<TestRedis> {
  const prefix = `muejam-test:${label}:${randomBytes(4).toString('hex')}:`
  const client = new Redis(TEST_REDIS_URL, { lazyConnect: true, maxRetriesPerRequest: 1, connectTimeout: 3000 })
  try {
    await client.connect()
    await client.ping()
  } catch (error) {
    client.disconnect()
    throw new Error(`Redis is not reachable at ${TEST_REDIS_URL}: ${(error as Error).message}. ${START_HINT}`)
  }
  t.teardown(async () => {
    const keys = await client.keys(`${prefix}*`)
    if (keys.length > 0) await client.del(...keys)
    await client.quit()
  })
  return { url: TEST_REDIS_URL, prefix, client }
}
