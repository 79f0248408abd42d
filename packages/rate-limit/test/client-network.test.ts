import * as shared from '@muejam/problem'
import t from 'tap'
import { authUserId, userIdOf } from '../src/identity.js'
import { clientAddress, clientNetwork } from '../src/index.js'
import { routePolicyName } from '../src/policy.js'

t.test('clientNetwork and clientAddress are exported as before: the shared definitions of @muejam/problem', async (t) => {
  t.equal(clientNetwork, shared.clientNetwork)
  t.equal(clientAddress, shared.clientAddress)
  t.equal(clientNetwork('2001:db8:1:2::1'), '2001:db8:1:2::/64')
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
