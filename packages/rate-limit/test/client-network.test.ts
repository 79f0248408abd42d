import t from 'tap'
import { clientAddress } from '../src/client-network.js'
import { authUserId, userIdOf } from '../src/identity.js'
import { clientNetwork } from '../src/index.js'
import { routePolicyName } from '../src/policy.js'

t.test('IPv4 addresses are their own key', async (t) => {
  t.equal(clientAddress('203.0.113.9', 64), '203.0.113.9')
})

t.test('IPv6 addresses are reduced to their /64 network', async (t) => {
  t.equal(clientAddress('2001:db8:aaaa:bbbb:1:2:3:4', 64), '2001:db8:aaaa:bbbb::')
  t.equal(clientAddress('2001:db8:aaaa:bbbb:ffff:ffff:ffff:ffff', 64), '2001:db8:aaaa:bbbb::')
  t.equal(clientAddress('2001:DB8:AAAA:BBBB::1', 64), '2001:db8:aaaa:bbbb::', 'case does not make another key')
  t.not(clientAddress('2001:db8:aaaa:bbbc::1', 64), clientAddress('2001:db8:aaaa:bbbb::1', 64), 'the neighbouring /64 is another key')
  t.equal(clientAddress('::1', 64), '::')
})

t.test('the IPv6 prefix length is configurable', async (t) => {
  t.equal(clientAddress('2001:db8:aaaa:bbbb:1:2:3:4', 48), '2001:db8:aaaa::')
  t.equal(clientAddress('2001:db8:aaaa:bbbb:1:2:3:4', 128), '2001:db8:aaaa:bbbb:1:2:3:4')
})

t.test('IPv4-mapped IPv6 addresses count as the IPv4 client', async (t) => {
  t.equal(clientAddress('::ffff:198.51.100.7', 64), '198.51.100.7')
  t.equal(clientAddress('::FFFF:c633:6407', 64), '198.51.100.7', 'mapped, in hex')
})

t.test('IPv6 spellings of one network make one key: leading zeros, capitals, a dotted tail, a zone id', async (t) => {
  t.equal(clientAddress('2001:0DB8:0001:0002:ffff:ffff:ffff:ffff', 64), '2001:db8:1:2::')
  t.equal(clientAddress('2001:db8:1:2:a:b:1.2.3.4', 64), '2001:db8:1:2::')
  t.equal(clientAddress('fe80::1%eth0', 64), 'fe80::')
  t.equal(clientAddress('2001:db8:0:1::1', 64), '2001:db8:0:1::', 'a single zero group stays a group')
  t.equal(clientAddress('2001:0:0:1:0:0:0:1', 128), '2001:0:0:1::1', 'the longest zero run is the one shortened')
  t.equal(clientAddress('2001:db8:aaaa:bbbb:1:2:3:4', 60), '2001:db8:aaaa:bbb0::', 'a prefix inside a group')
})

t.test('anything that is not an address is kept as it came', async (t) => {
  t.equal(clientAddress('not-an-ip', 64), 'not-an-ip')
  t.equal(clientAddress('zz::1', 64), 'zz::1')
})

t.test('clientNetwork: IPv4 as is, IPv6 as its /64, the way anonymous clients are counted', async (t) => {
  t.equal(clientNetwork('203.0.113.9'), '203.0.113.9')
  t.equal(clientNetwork('::ffff:203.0.113.9'), '203.0.113.9', 'an IPv4-mapped address is its IPv4 client')
  t.equal(clientNetwork('2001:db8:1:2::1'), '2001:db8:1:2::/64')
  t.equal(clientNetwork('2001:0DB8:0001:0002:ffff:ffff:ffff:ffff'), '2001:db8:1:2::/64')
  t.equal(clientNetwork('2001:db8:40:1:abcd::9'), '2001:db8:40:1::/64')
  t.equal(clientNetwork('::1'), '::/64')
  t.not(clientNetwork('2001:db8:1:2::1'), clientNetwork('2001:db8:1:3::1'), 'the next /64 is another client')
  t.equal(clientNetwork('unknown'), 'unknown', 'anything else is kept as it came')
  t.equal(clientNetwork('a:b'), 'a:b')
})

t.test('a request without an address (socket already gone) gets one shared key', async (t) => {
  t.equal(clientAddress(undefined, 64), 'unknown')
  t.equal(clientAddress('', 64), 'unknown')
})

t.test('the default identity is a string userId in request.auth; only a non-empty string identifies a user', async (t) => {
  const request = (auth: unknown) => ({ auth }) as unknown as Parameters<typeof authUserId>[0]
  t.equal(authUserId(request({ userId: 'user_1' })), 'user_1')
  t.equal(authUserId(request(null)), undefined)
  t.equal(authUserId(request(undefined)), undefined)
  t.equal(authUserId(request('user_1')), undefined)
  t.equal(authUserId(request({ userId: 42 })), undefined)
  t.equal(userIdOf('user_1'), 'user_1')
  t.equal(userIdOf(''), undefined)
  t.equal(userIdOf(null), undefined)
  t.equal(userIdOf(undefined), undefined)
  t.equal(userIdOf(42), undefined)
})

t.test('route policy names are safe inside a structured-field string', async (t) => {
  t.equal(routePolicyName('POST', '/v1/stories'), 'POST /v1/stories')
  t.equal(routePolicyName(['GET', 'HEAD'], '/a'), 'GET,HEAD /a')
  t.equal(routePolicyName('GET', '/q/"x"\\y/é'), 'GET /q/_x__y/_')
  t.equal(routePolicyName('GET', `/${'x'.repeat(200)}`).length, 100)
})
