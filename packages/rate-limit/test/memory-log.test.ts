import t from 'tap'
import { MemoryLog } from '../src/memory-store.js'

/** A log on a clock the test moves, in ms (the log counts in µs). */
function logAt (cacheSize = 100) {
  let nowMs = 1_000_000
  const log = new MemoryLog(cacheSize, () => Math.round(nowMs * 1000))
  return {
    log,
    at (ms: number) { nowMs = 1_000_000 + ms },
    /** The log's decision for one request, as an object. */
    hit (key = 'k', windowMs = 1000, max = 3) {
      let decision: { admitted: boolean, count: number, resetUs: number } | undefined
      log.hit(key, windowMs, max, (_error, admitted, count, resetUs) => { decision = { admitted, count, resetUs } })
      return decision as { admitted: boolean, count: number, resetUs: number }
    }
  }
}

t.test('no trailing window admits more than max, whatever the timing (every ms over 10 windows)', async (t) => {
  const { at, hit } = logAt()
  // A seeded client that asks at scattered moments, and in bursts around each edge a fixed
  // window would have (every 1000 ms from the first request).
  let seed = 42
  const random = () => (seed = (seed * 1_103_515_245 + 12_345) % 2_147_483_648) / 2_147_483_648
  const admitted: number[] = []
  let tries = 0
  for (let ms = 0; ms < 10_000; ms++) {
    at(ms)
    const edge = ms % 1000 >= 990 || ms % 1000 <= 10
    const n = edge ? (random() < 0.3 ? 3 : 0) : (random() < 0.004 ? 1 : 0)
    tries += n
    for (let i = 0; i < n; i++) if (hit().admitted) admitted.push(ms)
  }
  let worst = 0
  for (let end = 0; end < 10_000; end++) {
    worst = Math.max(worst, admitted.filter((ms) => ms > end - 1000 && ms <= end).length)
  }
  t.ok(tries > 10 * admitted.length / 3, `the client asked far more than it was given (${tries} tries)`)
  t.equal(worst, 3, 'at most 3 in any 1000 ms, and the budget is reached')
})

t.test('an entry stays for exactly windowMs: it still counts one µs before, and is gone at windowMs', async (t) => {
  const { at, hit, log } = logAt()
  at(0)
  t.same(hit('k', 1000, 1), { admitted: true, count: 1, resetUs: 1_000_000 })
  at(999.999)
  t.same(hit('k', 1000, 1), { admitted: false, count: 1, resetUs: 1 }, 'refused, the next pass in 1 µs')
  at(1000)
  t.same(hit('k', 1000, 1), { admitted: true, count: 1, resetUs: 1_000_000 })
  t.equal(log.size, 1)
})

t.test('the reset of a refusal points at the entry whose leaving frees a slot; of an admission, at the oldest', async (t) => {
  const { at, hit } = logAt()
  at(0); hit()
  at(100); hit()
  at(200)
  t.same(hit(), { admitted: true, count: 3, resetUs: 800_000 }, 'admitted: the oldest (t=0) leaves in 800 ms')
  at(300)
  t.same(hit(), { admitted: false, count: 3, resetUs: 700_000 }, 'refused: passes when t=0 leaves')
  at(1050)
  t.same(hit(), { admitted: true, count: 3, resetUs: 50_000 }, 't=0 left; the oldest is now t=100')
})

t.test('a smaller max than the log holds (limits lowered) waits for enough entries to leave', async (t) => {
  const { at, hit } = logAt()
  for (let ms = 0; ms < 5; ms++) {
    at(ms * 100)
    hit('k', 1000, 5)
  }
  at(450)
  t.same(hit('k', 1000, 2), { admitted: false, count: 5, resetUs: 850_000 },
    'five entries, max 2: the fourth oldest (t=300) must leave before the next passes')
})

t.test('max 0 refuses everything and keeps nothing', async (t) => {
  const { hit, log } = logAt()
  t.same(hit('k', 1000, 0), { admitted: false, count: 0, resetUs: 1_000_000 })
  t.equal(log.size, 0)
})

t.test('at most cacheSize keys: the least recently used goes first', async (t) => {
  const { hit, log } = logAt(2)
  hit('a'); hit('b'); hit('a'); hit('c')
  t.equal(log.size, 2)
  t.equal(hit('a').count, 3, 'a was used last before c: kept')
  t.equal(hit('b').count, 1, 'b was dropped')
})

t.test('hits in a row on one key keep it the most recently used; a log that empties is dropped', async (t) => {
  const { at, hit, log } = logAt(2)
  hit('a'); hit('b'); hit('b'); hit('a'); hit('a')
  hit('c')
  t.equal(log.size, 2)
  t.equal(hit('a').count, 3, 'a, used last before c, was kept with its three entries')
  t.equal(hit('b').count, 1, 'b was dropped to make room for c')
  at(2000)
  t.same(hit('b', 1000, 0), { admitted: false, count: 0, resetUs: 1_000_000 }, 'every entry of b left the window')
  t.equal(log.size, 1, 'the emptied log is dropped, the last used key included')
  t.equal(hit('b').count, 1)
  t.equal(hit('d').count, 1)
  t.equal(log.size, 2)
})
