import { randomUUID } from 'node:crypto'
import { createServer } from 'node:http'
import type { AddressInfo } from 'node:net'
import { exportJWK, generateKeyPair, SignJWT, type JWTPayload } from 'jose'

export interface Issuer {
  /** `iss` of the tokens: the server's URL. */
  issuer: string
  jwksUrl: string
  /** An RS256 token signed with the published key; `header` members replace the defaults (`typ: 'at+jwt'`). */
  sign (claims: JWTPayload, header?: Record<string, unknown>): Promise<string>
  close (): Promise<void>
}

/** An OIDC issuer's key set served over real HTTP, and a signer for its access tokens. */
export async function startIssuer (): Promise<Issuer> {
  const { privateKey, publicKey } = await generateKeyPair('RS256')
  const kid = randomUUID()
  const jwks = JSON.stringify({ keys: [{ ...await exportJWK(publicKey), kid, alg: 'RS256', use: 'sig' }] })
  const server = createServer((request, response) => {
    if (request.url === '/.well-known/jwks.json') {
      response.writeHead(200, { 'content-type': 'application/json' }).end(jwks)
    } else {
      response.writeHead(404).end()
    }
  })
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  const issuer = `http://127.0.0.1:${(server.address() as AddressInfo).port}`
  return {
    issuer,
    jwksUrl: `${issuer}/.well-known/jwks.json`,
    sign: (claims, header = {}) => new SignJWT(claims)
      .setProtectedHeader({ alg: 'RS256', kid, typ: 'at+jwt', ...header })
      .sign(privateKey),
    close: () => new Promise((resolve) => {
      server.closeAllConnections()
      server.close(() => resolve())
    })
  }
}
