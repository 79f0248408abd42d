import {
  hmacToken,
  startJwksServer,
  tamperSignature,
  unsignedToken
} from '@muejam/testing/jwks'
import t from 'tap'
import { buildApp, nowS } from './helpers/app.js'

t.test('no token, nor any part of one, ever appears in the logs (trace level, successes, refusals, outages)', async (t) => {
  const jwks = await startJwksServer(t)
  // Fastify's default error handler logs each refusal with the whole error serialized.
  const { get, lines } = await buildApp(t, { issuer: jwks.issuer, jwksCooldownMs: 0, jwksTimeoutMs: 300, jwksTtlMs: 50 }, { defaultErrorHandler: true })
  const tokens = [
    await jwks.sign(),
    await jwks.sign({ sid: 'sess_expired', exp: nowS() - 60 }),
    tamperSignature(await jwks.sign({ sid: 'sess_tampered' })),
    unsignedToken(jwks.claims({ sid: 'sess_none' })),
    hmacToken(jwks.claims({ sid: 'sess_hmac' }), jwks.currentKey.publicPem),
    await jwks.sign({ sid: 'sess_unknown' }, { kid: 'ins_unknown' }),
    await jwks.sign({ sid: 'sess_large', padding: 'p'.repeat(9000) })
  ]
  for (const token of tokens) await get('/required', token)
  await jwks.setDown('hang')
  const duringOutage = await jwks.sign({ sid: 'sess_outage' }, { kid: 'ins_outage' })
  tokens.push(duringOutage)
  t.equal((await get('/required', duringOutage)).statusCode, 503)
  await get('/optional', 'not-a-jwt-but-still-a-secret-credential')
  tokens.push('not-a-jwt-but-still-a-secret-credential')

  const log = lines.join('')
  t.ok(lines.length > 20, 'the requests were logged')
  t.ok(lines.filter((line) => line.includes('"err":')).length >= 8, 'every refusal was logged with its error')
  t.match(log, /JWKS fetch failed/, 'the outage was logged')
  for (const token of tokens) {
    for (const part of token.split('.').filter((segment) => segment.length >= 16)) {
      t.notOk(log.includes(part), 'no token segment in the logs')
    }
  }
  t.notMatch(log, /authorization/i, 'no Authorization header in the logs')
})
