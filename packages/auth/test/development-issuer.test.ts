import { chmod, readFile, stat, symlink, writeFile } from 'node:fs/promises'
import { join } from 'node:path'
import { decodeToken } from '@muejam/testing/jwks'
import t from 'tap'
import { DEVELOPMENT_ISSUER, loadDevelopmentIssuer } from '../src/index.js'
import { buildApp, nowS } from './helpers/app.js'

t.test('creates an RSA key pair once, the private key readable by its owner only (0600, folder 0700)', async (t) => {
  const dir = join(t.testdir(), 'dev-keys')
  const issuer = await loadDevelopmentIssuer(dir)
  t.equal(issuer.issuer, DEVELOPMENT_ISSUER)
  t.match(issuer.publicKey, /^-----BEGIN PUBLIC KEY-----/)
  t.equal(issuer.privateKeyPath, join(dir, 'development-issuer.private.pem'))
  t.equal((await stat(issuer.privateKeyPath)).mode & 0o777, 0o600)
  t.equal((await stat(dir)).mode & 0o777, 0o700)
  t.match(await readFile(issuer.privateKeyPath, 'utf8'), /^-----BEGIN PRIVATE KEY-----/)

  const again = await loadDevelopmentIssuer(dir)
  t.equal(again.publicKey, issuer.publicKey, 'the same key on the next start')
  t.equal(again.keyId, issuer.keyId, 'and the same kid')
})

t.test('concurrent first starts agree on one key', async (t) => {
  const dir = t.testdir()
  const issuers = await Promise.all(Array.from({ length: 5 }, () => loadDevelopmentIssuer(dir)))
  t.equal(new Set(issuers.map((issuer) => issuer.publicKey)).size, 1)
})

t.test('its tokens are accepted by the plugin trusting only it (networkless), as pnpm token prints them', async (t) => {
  const issuer = await loadDevelopmentIssuer(t.testdir())
  const { get } = await buildApp(t, { issuer: issuer.issuer, publicKey: issuer.publicKey })
  const token = issuer.sign({ sub: 'user_123' })
  const response = await get('/required', token)
  t.equal(response.statusCode, 200)
  t.match(response.json().auth, { userId: 'user_123', sessionId: /^sess_dev_[0-9a-f]{16}$/ })
  const { header, payload } = decodeToken(token)
  t.same(header, { alg: 'RS256', typ: 'JWT', kid: issuer.keyId })
  t.equal(payload.exp, (payload.iat as number) + 3600, 'one hour by default')
})

t.test('its tokens take extra claims, a lifetime, and may set their own dates but never another iss', async (t) => {
  const issuer = await loadDevelopmentIssuer(t.testdir())
  const { get } = await buildApp(t, { issuer: issuer.issuer, publicKey: issuer.publicKey })
  const custom = decodeToken(issuer.sign({ sub: 'user_1', sid: 'sess_1', org_id: 'org_1', iss: 'https://evil.example.org' }, { expiresInS: 60 })).payload
  t.match(custom, { sub: 'user_1', sid: 'sess_1', org_id: 'org_1', iss: DEVELOPMENT_ISSUER })
  t.equal(custom.exp, (custom.iat as number) + 60)
  const expired = await get('/required', issuer.sign({ sub: 'user_1', exp: nowS() - 60 }))
  t.equal(expired.json().code, 'token_expired')
})

t.test('signing without a sub is refused', async (t) => {
  const issuer = await loadDevelopmentIssuer(t.testdir())
  t.throws(() => issuer.sign({ sub: '' }), { name: 'TypeError', message: /non-empty sub/ })
  t.throws(() => issuer.sign(undefined as unknown as { sub: string }), { name: 'TypeError' })
})

t.test('a private key left readable by others is tightened back to 0600', async (t) => {
  const dir = t.testdir()
  const issuer = await loadDevelopmentIssuer(dir)
  await chmod(issuer.privateKeyPath, 0o644)
  const again = await loadDevelopmentIssuer(dir)
  t.equal((await stat(again.privateKeyPath)).mode & 0o777, 0o600)
  t.equal(again.publicKey, issuer.publicKey)
})

t.test('a symlink in place of the private key is refused', async (t) => {
  const dir = t.testdir({ 'elsewhere.pem': 'not a key' })
  await symlink(join(dir, 'elsewhere.pem'), join(dir, 'development-issuer.private.pem'))
  await t.rejects(loadDevelopmentIssuer(dir), { message: /is not a regular file/ })
})

t.test('a corrupt private key file is an error, not a silently replaced key', async (t) => {
  const dir = t.testdir()
  await writeFile(join(dir, 'development-issuer.private.pem'), 'garbage', { mode: 0o600 })
  await t.rejects(loadDevelopmentIssuer(dir))
})
