// A local HTTPS issuer: a self-signed TLS certificate, an RSA signing key and its JWKS.
import { execFileSync } from 'node:child_process'
import { createSign, generateKeyPairSync, randomUUID } from 'node:crypto'
import { once } from 'node:events'
import { readFileSync, writeFileSync } from 'node:fs'
import { createServer } from 'node:https'
import { join } from 'node:path'

const base64url = (value) => Buffer.from(value).toString('base64url')

export async function startIssuer (dir) {
  const certPath = join(dir, 'issuer.crt')
  const keyPath = join(dir, 'issuer.key')
  execFileSync('openssl', ['req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-days', '1', '-subj', '/CN=127.0.0.1',
    '-addext', 'subjectAltName=IP:127.0.0.1', '-keyout', keyPath, '-out', certPath], { stdio: 'ignore' })

  const kid = randomUUID()
  const { publicKey, privateKey } = generateKeyPairSync('rsa', { modulusLength: 2048 })
  const jwks = JSON.stringify({ keys: [{ ...publicKey.export({ format: 'jwk' }), kid, alg: 'RS256', use: 'sig' }] })
  let fetches = 0
  const server = createServer({ cert: readFileSync(certPath), key: readFileSync(keyPath) }, (request, response) => {
    if (request.url !== '/.well-known/jwks.json') {
      response.writeHead(404).end()
      return
    }
    fetches++
    response.writeHead(200, { 'content-type': 'application/json' }).end(jwks)
  })
  server.listen(0, '127.0.0.1')
  await once(server, 'listening')
  const issuer = `https://127.0.0.1:${server.address().port}`

  function sign (claims) {
    const now = Math.floor(Date.now() / 1000)
    const header = base64url(JSON.stringify({ alg: 'RS256', typ: 'JWT', kid }))
    const payload = base64url(JSON.stringify({ iss: issuer, iat: now, nbf: now, exp: now + 3600, ...claims }))
    const signature = createSign('RSA-SHA256').update(`${header}.${payload}`).sign(privateKey).toString('base64url')
    return `${header}.${payload}.${signature}`
  }

  writeFileSync(join(dir, 'ca.pem'), readFileSync(certPath))
  return {
    issuer,
    jwksUrl: `${issuer}/.well-known/jwks.json`,
    caFile: join(dir, 'ca.pem'),
    sign,
    get fetches () { return fetches },
    close: () => new Promise((resolve) => server.close(resolve))
  }
}
