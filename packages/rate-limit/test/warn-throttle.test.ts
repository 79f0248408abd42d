import { setTimeout as sleep } from 'node:timers/promises'
import t from 'tap'
import { WARN_INTERVAL_MS, WarnThrottle } from '../src/limiter.js'

t.test('store warnings are logged at most once per 10 s, with how many were held back', async (t) => {
  t.equal(WARN_INTERVAL_MS, 10_000)
  const logged: Array<[Record<string, unknown>, string]> = []
  const log = { warn: (details: Record<string, unknown>, message: string) => { logged.push([details, message]) } }
  const throttle = new WarnThrottle(log as never, 100)
  throttle.warn({ n: 1 }, 'down')
  throttle.warn({ n: 2 }, 'down')
  throttle.warn({ n: 3 }, 'down')
  t.same(logged, [[{ n: 1, suppressed: 0 }, 'down']])
  await sleep(150)
  throttle.warn({ n: 4 }, 'down')
  t.same(logged[1], [{ n: 4, suppressed: 2 }, 'down'], 'the next interval logs again and says 2 were held back')
})
