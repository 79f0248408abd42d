import { setTimeout as sleep } from 'node:timers/promises'
import { createTestRedis } from '@muejam/testing/redis'
import type { FastifyInstance, LightMyRequestResponse } from 'fastify'
import t, { type Test } from 'tap'
import { build } from './helpers/app.js'

/*
 * The guarantee, on the real clock with short windows: no trailing interval of windowMs
 * admits more than max. Every wait leaves at least 300 ms between the moment a request is
 * sent and the moment its answer would change (an entry leaving the window), far more than
 * a request takes here, so a slow machine cannot turn a right answer into a wrong one, and
 * no margin is wide enough to let a fixed window (or a wrong reset) pass.
 */

const WINDOW_MS = 2000
const stores = ['redis', 'memory'] as const
type StoreKind = typeof stores[number]

async function limited (t: Test, kind: StoreKind, max: number): Promise<FastifyInstance> {
  if (kind === 'memory') return build(t, { max, windowMs: WINDOW_MS })
  const redis = await createTestRedis(t, `sliding-${max}`)
  return build(t, { redis: redis.url, keyPrefix: redis.prefix, max, windowMs: WINDOW_MS })
}

/** Sleeps until `ms` after the instant `since` (a performance.now() reading). */
async function until (since: number, ms: number): Promise<void> {
  const left = since + ms - performance.now()
  if (left > 0) await sleep(left)
}

async function sequence (app: FastifyInstance, n: number): Promise<LightMyRequestResponse[]> {
  const responses: LightMyRequestResponse[] = []
  for (let i = 0; i < n; i++) responses.push(await app.inject('/things'))
  return responses
}

const statuses = (responses: LightMyRequestResponse[]) => responses.map((response) => response.statusCode)

for (const kind of stores) {
  t.test(`${kind}: the boundary burst a fixed window admits twice (max late in one window, max early in the next) gets max in any ${WINDOW_MS} ms`, async (t) => {
    const max = 5
    const app = await limited(t, kind, max)
    // One request opens what a fixed window would call its window, at t0.
    t.equal((await app.inject('/things')).statusCode, 200)
    const t0 = performance.now()
    // max - 1 more late in that window, at t0 + 1000.
    await until(t0, 1000)
    const sentLate = performance.now()
    const late = await sequence(app, max - 1)
    t.same(statuses(late), Array(max - 1).fill(200), 'the late part of the budget')
    // A fixed window starts afresh at t0 + 2000 and would admit max more. Here only the
    // first request has left the trailing window by t0 + 2300 (the late ones leave at
    // t0 + 3000 or after), so exactly one slot has come back.
    await until(t0, 2300)
    const early = await sequence(app, max)
    t.ok(performance.now() < sentLate + WINDOW_MS, 'the burst was sent while the late requests were still in the window')
    t.same(statuses(early), [200, ...Array(max - 1).fill(429)], 'one admitted, the rest refused: max in the trailing window')
    t.equal(early[0]?.headers['x-ratelimit-remaining'], '0')
  })

  t.test(`${kind}: as each oldest entry ages out, exactly one more request passes`, async (t) => {
    const max = 3
    const app = await limited(t, kind, max)
    const t0 = performance.now()
    t.equal((await app.inject('/things')).statusCode, 200)
    await until(t0, 700)
    t.same(statuses(await sequence(app, 2)), [200, 200])
    t.same(statuses(await sequence(app, 2)), [429, 429], 'full')
    // The first entry (sent by t0 + ~0) has left by t0 + 2300; the two at t0 + 700 leave at t0 + 2700.
    await until(t0, 2300)
    t.same(statuses(await sequence(app, 3)), [200, 429, 429], 'the first one out makes room for exactly one')
    // The two from t0 + 700 have left by t0 + 3100; the one at t0 + 2300 stays until t0 + 4300.
    await until(t0, 3100)
    t.same(statuses(await sequence(app, 3)), [200, 200, 429], 'the next two out make room for exactly two')
  })

  t.test(`${kind}: Retry-After says when the next request passes: sooner is still refused, then it passes`, async (t) => {
    const app = await limited(t, kind, 1)
    const first = await app.inject('/things')
    // Taken after the answer: the entry is at most this old.
    const t0 = performance.now()
    t.equal(first.statusCode, 200)
    t.equal(first.headers['x-ratelimit-reset'], '2', 'the first entry leaves after the whole window')
    t.equal(first.headers.ratelimit, '"default";r=0;t=2')

    // At t0 + 1100 the entry leaves in about 900 ms: rounded up, 1 s (a fixed window's
    // counter or a reset of the whole window would say 2).
    await until(t0, 1100)
    const refused = await app.inject('/things')
    const refusedAt = performance.now()
    t.equal(refused.statusCode, 429)
    t.equal(refused.headers['retry-after'], '1')
    t.equal(refused.headers['x-ratelimit-reset'], '1')
    t.equal(refused.headers['x-ratelimit-remaining'], '0')
    t.equal(refused.headers.ratelimit, '"default";r=0;t=1')
    t.match(refused.json(), { code: 'rate_limited', retry_after: 1 })

    // 600 ms later the entry is still in the window for about 300 ms.
    await until(refusedAt, 600)
    const early = await app.inject('/things')
    t.equal(early.statusCode, 429, 'before Retry-After has passed: still refused')
    t.equal(early.headers['retry-after'], '1')

    await until(refusedAt, 1000)
    const onTime = await app.inject('/things')
    t.equal(onTime.statusCode, 200, 'once Retry-After has passed: admitted')
    t.equal(onTime.headers['x-ratelimit-remaining'], '0')
    t.equal(app.rateLimit.stats.refused, 2)
  })

  t.test(`${kind}: refused requests are not logged: a client that keeps retrying is let in once its oldest entry leaves`, async (t) => {
    const app = await limited(t, kind, 2)
    const t0 = performance.now()
    t.same(statuses(await sequence(app, 2)), [200, 200])
    // Hammering for a while; a log that recorded refusals would keep this client out for good.
    while (performance.now() < t0 + 1500) {
      t.equal((await app.inject('/things')).statusCode, 429)
      await sleep(100)
    }
    await until(t0, 2300)
    t.same(statuses(await sequence(app, 3)), [200, 200, 429], 'the whole budget is back once the admitted requests left')
  })
}
