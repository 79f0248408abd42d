import t from 'tap'
import { BREAKER_STATE_VALUES, BreakerOpenError, CircuitBreaker, REJECTED, type StateChange } from '../src/index.js'

/** A breaker on a clock the test moves, with every state change it announced. */
function fakeClockBreaker (options: { failureThreshold?: number, coolOffMs?: number } = {}) {
  const clock = { ms: 1000 }
  const breaker = new CircuitBreaker({ name: 'store', failureThreshold: 3, coolOffMs: 5000, ...options, now: () => clock.ms })
  const changes: StateChange[] = []
  breaker.on('stateChange', (change) => changes.push(change))
  return { breaker, clock, changes }
}

function failTimes (breaker: CircuitBreaker, times: number) {
  for (let i = 0; i < times; i++) breaker.failed(breaker.permit())
}

t.test('closed: every call is let through, and a success resets the run of failures', async (t) => {
  const { breaker, changes } = fakeClockBreaker()
  t.equal(breaker.state, 'closed')
  t.equal(breaker.stateValue, 0)
  t.equal(breaker.retryAfterMs(), 0)
  failTimes(breaker, 2)
  t.equal(breaker.consecutiveFailures, 2)
  breaker.succeeded(breaker.permit())
  t.equal(breaker.consecutiveFailures, 0)
  failTimes(breaker, 2)
  t.equal(breaker.state, 'closed', 'two failures after a success are not three in a row')
  t.same(changes, [])
})

t.test('opens after failureThreshold consecutive failures and refuses every call at once for the cool-off', async (t) => {
  const { breaker, clock, changes } = fakeClockBreaker()
  failTimes(breaker, 3)
  t.equal(breaker.state, 'open')
  t.equal(breaker.stateValue, 2)
  t.same(changes, [{ name: 'store', from: 'closed', to: 'open', failures: 3 }])
  t.equal(breaker.permit(), REJECTED)
  clock.ms += 4999
  t.equal(breaker.permit(), REJECTED, 'still refused 1 ms before the cool-off ends')
  t.equal(breaker.retryAfterMs(), 1)
  t.equal(breaker.state, 'open')
})

t.test('after the cool-off, exactly one probe is let through; its success closes the breaker', async (t) => {
  const { breaker, clock, changes } = fakeClockBreaker()
  failTimes(breaker, 3)
  clock.ms += 5000
  t.equal(breaker.state, 'half_open', 'the state says the next call is the probe')
  t.equal(breaker.stateValue, 1)
  t.equal(breaker.retryAfterMs(), 0)
  const probe = breaker.permit()
  t.not(probe, REJECTED)
  t.equal(breaker.permit(), REJECTED, 'a second caller is refused while the probe is out')
  t.equal(breaker.permit(), REJECTED)
  t.equal(breaker.retryAfterMs(), 5000)
  breaker.succeeded(probe)
  t.equal(breaker.state, 'closed')
  t.not(breaker.permit(), REJECTED)
  t.same(changes.map(({ from, to }) => `${from}→${to}`), ['closed→open', 'open→half_open', 'half_open→closed'])
})

t.test('a failed probe opens the breaker for another whole cool-off', async (t) => {
  const { breaker, clock, changes } = fakeClockBreaker()
  failTimes(breaker, 3)
  clock.ms += 5000
  breaker.failed(breaker.permit())
  t.equal(breaker.state, 'open')
  t.same(changes.at(-1), { name: 'store', from: 'half_open', to: 'open', failures: 4 })
  clock.ms += 4999
  t.equal(breaker.permit(), REJECTED)
  clock.ms += 1
  const probe = breaker.permit()
  t.not(probe, REJECTED, 'the next cool-off over, one more probe')
  breaker.succeeded(probe)
  t.equal(breaker.state, 'closed')
  t.equal(breaker.consecutiveFailures, 0)
})

t.test('answers of calls started before a change of state are ignored', async (t) => {
  const { breaker, clock } = fakeClockBreaker()
  const early = breaker.permit()
  const late = breaker.permit()
  failTimes(breaker, 3)
  breaker.succeeded(early)
  t.equal(breaker.state, 'open', 'a success that started before it opened does not close it')
  clock.ms += 5000
  const probe = breaker.permit()
  breaker.failed(late)
  t.equal(breaker.state, 'half_open', 'a failure that started before the probe does not re-open it')
  breaker.succeeded(probe)
  t.equal(breaker.state, 'closed')
  breaker.failed(probe)
  t.equal(breaker.consecutiveFailures, 0, 'the probe\'s permit is spent once the breaker closed')
})

t.test('a probe that never reports back is replaced after a cool-off', async (t) => {
  const { breaker, clock } = fakeClockBreaker()
  failTimes(breaker, 3)
  clock.ms += 5000
  const lost = breaker.permit()
  clock.ms += 4999
  t.equal(breaker.permit(), REJECTED)
  clock.ms += 1
  const second = breaker.permit()
  t.not(second, REJECTED)
  breaker.succeeded(lost)
  t.equal(breaker.state, 'half_open', 'the lost probe\'s late answer counts for nothing')
  breaker.succeeded(second)
  t.equal(breaker.state, 'closed')
})

t.test('run(): refuses with BreakerOpenError without calling, counts rejections as failures', async (t) => {
  const { breaker, clock } = fakeClockBreaker({ failureThreshold: 2 })
  let calls = 0
  const down = async () => { calls++; throw new Error('down') }
  await t.rejects(breaker.run(down), { message: 'down' })
  await t.rejects(breaker.run(down), { message: 'down' })
  t.equal(calls, 2)
  const refused = await breaker.run(down).catch((error: unknown) => error)
  t.equal(calls, 2, 'an open breaker does not call')
  t.ok(refused instanceof BreakerOpenError)
  t.match(refused, { code: 'MUEJAM_CIRCUIT_BREAKER_OPEN', retryAfterMs: 5000, message: 'circuit breaker store is open; the next call is let through in 5000 ms' })
  clock.ms += 5000
  t.equal(await breaker.run(async () => 'up'), 'up')
  t.equal(breaker.state, 'closed')
})

t.test('a threshold of 1 opens on the first failure; state values are 0, 1, 2', async (t) => {
  const { breaker } = fakeClockBreaker({ failureThreshold: 1 })
  breaker.failed(breaker.permit())
  t.equal(breaker.state, 'open')
  t.same(BREAKER_STATE_VALUES, { closed: 0, half_open: 1, open: 2 })
})

t.test('defaults: 5 failures, 5000 ms on the monotonic clock', async (t) => {
  const breaker = new CircuitBreaker()
  t.equal(breaker.name, 'breaker')
  t.equal(breaker.failureThreshold, 5)
  t.equal(breaker.coolOffMs, 5000)
  failTimes(breaker, 5)
  t.equal(breaker.state, 'open')
  t.ok(breaker.retryAfterMs() > 4900 && breaker.retryAfterMs() <= 5000)
})
