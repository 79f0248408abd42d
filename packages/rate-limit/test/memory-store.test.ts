import t from 'tap'
import { asUser, build } from './helpers/app.js'

t.test('the in-process store keeps localCacheSize keys and drops the least recently used one', async (t) => {
  const app = await build(t, { maxAuthenticated: 1, localCacheSize: 3 })
  t.equal(app.rateLimit.store, 'memory')
  const status = async (user: string) => (await app.inject({ url: '/things', headers: asUser(user) })).statusCode

  t.same([await status('a'), await status('b'), await status('c')], [200, 200, 200], 'three users fill the store')
  t.equal(await status('a'), 429, 'a is still counted, and is now the most recently used')
  t.equal(await status('d'), 200, 'a fourth key makes room by dropping b, the least recently used')
  t.equal(await status('b'), 200, 'b starts afresh: its count was dropped (and c goes)')
  t.equal(await status('a'), 429, 'a was kept: recently used keys stay')
  t.equal(await status('d'), 429, 'd was kept')
  t.equal(await status('c'), 200, 'c was dropped when b came back')
})
