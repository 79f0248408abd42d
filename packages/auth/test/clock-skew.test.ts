import t from 'tap'
import { TokenRejection } from '../src/errors.js'
import { resolveSettings } from '../src/options.js'
import { checkClaims } from '../src/token-checks.js'

// The claim checks take the clock as an argument, so each boundary is hit to the millisecond.
const ISSUER = 'https://issuer.example.org'
const NOW_MS = 1_750_000_000_000
const NOW_S = NOW_MS / 1000

/** The claim check's verdict on a valid payload changed by `claims`, at NOW_MS. */
function verdict (claims: Record<string, unknown>, clockSkewMs: number): string {
  const settings = resolveSettings({ issuer: ISSUER, clockSkewMs })
  try {
    checkClaims({ iss: ISSUER, sub: 'user_1', sid: 'sess_1', exp: NOW_S + 60, ...claims }, settings, NOW_MS)
    return 'accepted'
  } catch (error) {
    if (error instanceof TokenRejection) return error.reason
    throw error
  }
}

t.test('exp = now − skew is refused; one second later it is accepted', async (t) => {
  t.equal(verdict({ exp: NOW_S - 5 }, 5000), 'token_expired')
  t.equal(verdict({ exp: NOW_S - 4 }, 5000), 'accepted')
})

t.test('with no skew, exp = now is refused and exp = now + 1 s accepted', async (t) => {
  t.equal(verdict({ exp: NOW_S }, 0), 'token_expired')
  t.equal(verdict({ exp: NOW_S + 1 }, 0), 'accepted')
})

t.test('nbf = now + skew is accepted; one second later it is refused', async (t) => {
  t.equal(verdict({ nbf: NOW_S + 5 }, 5000), 'accepted')
  t.equal(verdict({ nbf: NOW_S + 6 }, 5000), 'token_not_yet_valid')
})

t.test('iat = now + skew is accepted; one second later it is refused', async (t) => {
  t.equal(verdict({ iat: NOW_S + 5 }, 5000), 'accepted')
  t.equal(verdict({ iat: NOW_S + 6 }, 5000), 'token_issued_in_future')
})
