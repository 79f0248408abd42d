import t from 'tap'
import { clientAddress, userIdOf } from '../src/client-key.js'
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
})

t.test('a request without an address (socket already gone) gets one shared key', async (t) => {
  t.equal(clientAddress(undefined, 64), 'unknown')
  t.equal(clientAddress('', 64), 'unknown')
})

t.test('only a non-empty string userId in request.auth identifies a user', async (t) => {
  t.equal(userIdOf({ userId: 'user_1' }), 'user_1')
  t.equal(userIdOf(null), undefined)
  t.equal(userIdOf(undefined), undefined)
  t.equal(userIdOf('user_1'), undefined)
  t.equal(userIdOf({ userId: '' }), undefined)
  t.equal(userIdOf({ userId: 42 }), undefined)
})

t.test('route policy names are safe inside a structured-field string', async (t) => {
  t.equal(routePolicyName('POST', '/v1/stories'), 'POST /v1/stories')
  t.equal(routePolicyName(['GET', 'HEAD'], '/a'), 'GET,HEAD /a')
  t.equal(routePolicyName('GET', '/q/"x"\\y/é'), 'GET /q/_x__y/_')
  t.equal(routePolicyName('GET', `/${'x'.repeat(200)}`).length, 100)
})
