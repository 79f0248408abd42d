import t from 'tap'
import { clientAddress, clientNetwork } from '../src/index.js'

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

t.test('a request without an address (socket already gone) gets one shared key', async (t) => {
  t.equal(clientAddress(undefined, 64), 'unknown')
  t.equal(clientAddress('', 64), 'unknown')
})

t.test('clientNetwork keeps IPv4 as is and reduces IPv6 to its /64 in RFC 5952 text, whatever the spelling', async (t) => {
  t.equal(clientNetwork('203.0.113.9'), '203.0.113.9')
  t.equal(clientNetwork('::ffff:203.0.113.9'), '203.0.113.9', 'an IPv4-mapped address is its IPv4 client')
  t.equal(clientNetwork('::FFFF:cb00:7109'), '203.0.113.9', 'mapped, in hex')
  t.equal(clientNetwork('2001:db8:1:2::1'), '2001:db8:1:2::/64')
  t.equal(clientNetwork('2001:0DB8:0001:0002:ffff:ffff:ffff:ffff'), '2001:db8:1:2::/64', 'leading zeros and capitals')
  t.equal(clientNetwork('2001:db8:1:2:a:b:1.2.3.4'), '2001:db8:1:2::/64', 'a dotted tail')
  t.equal(clientNetwork('2001:db8:40:1:abcd::9'), '2001:db8:40:1::/64')
  t.equal(clientNetwork('fe80::1%eth0'), 'fe80::/64', 'a zone id')
  t.equal(clientNetwork('::1'), '::/64')
  t.equal(clientNetwork('2001:db8::'), '2001:db8::/64')
  t.equal(clientNetwork('2001:db8:0:0:ffff::'), clientNetwork('2001:db8::1'), 'one network, one text')
  t.not(clientNetwork('2001:db8:1:2::1'), clientNetwork('2001:db8:1:3::1'), 'the next /64 is another client')
  t.equal(clientNetwork('unknown'), 'unknown', 'anything else is kept as it came')
  t.equal(clientNetwork('a:b'), 'a:b')
})
