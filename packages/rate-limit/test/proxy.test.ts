import { createTestRedis } from '@muejam/testing/redis'
import t from 'tap'
import { build } from './helpers/app.js'
import { get } from './helpers/http.js'

async function serve (t: Parameters<typeof createTestRedis>[0], label: string, trustProxy: string[] | false) {
  const redis = await createTestRedis(t, label)
  const app = await build(t, { redis: redis.url, keyPrefix: redis.prefix, max: 3 }, { server: { trustProxy } })
  const address = await app.listen({ host: '127.0.0.1', port: 0 })
  return { base: address, keys: () => redis.client.keys(`${redis.prefix}*`), prefix: redis.prefix }
}

t.test('rotating X-Forwarded-For from an untrusted peer (no trustProxy) is still one key, refused after the limit', async (t) => {
  const { base, keys, prefix } = await serve(t, 'xff-untrusted', false)
  const statuses: number[] = []
  for (let i = 1; i <= 6; i++) {
    statuses.push((await get(`${base}/things`, { 'x-forwarded-for': `198.51.100.${i}` })).status)
  }
  t.same(statuses, [200, 200, 200, 429, 429, 429])
  t.same(await keys(), [`${prefix}default:ip:127.0.0.1`], 'counted under the socket peer only')
})

t.test('X-Forwarded-For is ignored when the peer is not one of the trusted proxies', async (t) => {
  const { base, keys, prefix } = await serve(t, 'xff-other-proxy', ['10.1.2.3', '192.168.0.0/16'])
  const statuses: number[] = []
  for (let i = 1; i <= 4; i++) statuses.push((await get(`${base}/things`, { 'x-forwarded-for': `198.51.100.${i}` })).status)
  t.same(statuses, [200, 200, 200, 429])
  t.same(await keys(), [`${prefix}default:ip:127.0.0.1`])
})

t.test('with trustProxy [127.0.0.1] the client named by X-Forwarded-For is the key', async (t) => {
  const { base, keys, prefix } = await serve(t, 'xff-trusted', ['127.0.0.1'])
  for (let i = 1; i <= 3; i++) {
    t.equal((await get(`${base}/things`, { 'x-forwarded-for': '198.51.100.1' })).status, 200)
  }
  t.equal((await get(`${base}/things`, { 'x-forwarded-for': '198.51.100.1' })).status, 429, 'that client is refused after its limit')
  t.equal((await get(`${base}/things`, { 'x-forwarded-for': '198.51.100.2' })).status, 200, 'another client behind the proxy has its own budget')
  // The client can prepend anything; only the entry the trusted proxy appended counts.
  t.equal((await get(`${base}/things`, { 'x-forwarded-for': '203.0.113.66, 198.51.100.1' })).status, 429)
  t.same((await keys()).sort(), [`${prefix}default:ip:198.51.100.1`, `${prefix}default:ip:198.51.100.2`])
})

t.test('a trusted CIDR works too, and an IPv6 client behind the proxy is keyed by its /64', async (t) => {
  const { base, keys, prefix } = await serve(t, 'xff-cidr', ['127.0.0.0/8'])
  t.equal((await get(`${base}/things`, { 'x-forwarded-for': '2001:db8:5:6::1' })).status, 200)
  t.equal((await get(`${base}/things`, { 'x-forwarded-for': '2001:db8:5:6::2' })).headers['x-ratelimit-remaining'], '1')
  t.same(await keys(), [`${prefix}default:ip:2001:db8:5:6::`])
})
