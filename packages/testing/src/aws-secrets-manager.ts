import { once } from 'node:events'
import { createServer, type IncomingMessage } from 'node:http'
import type { AddressInfo } from 'node:net'

interface Teardown { teardown(fn: () => unknown): void }

export interface FakeSecretsManager {
  /** Environment variables that point the real AWS SDK at this server. */
  env: Record<string, string>
  /** Replaces the secret's JSON value (rotation). */
  setSecret(values: Record<string, string>): void
  /** Replaces the secret's raw SecretString (null: a binary secret), for malformed secrets. */
  setRawSecret(value: string | null): void
  /** When set, every call answers this AWS error instead of the secret. */
  failWith(error: { status: number, type: string, message: string } | null): void
  /** GetSecretValue calls received so far. */
  readonly calls: number
}

async function readBody (request: IncomingMessage): Promise<string> {
  let body = ''
  for await (const chunk of request) body += chunk
  return body
}

/**
 * A local HTTP server that answers GetSecretValue the way AWS Secrets Manager does (JSON 1.1
 * protocol), so the real SDK runs against it.
 */
export async function startFakeSecretsManager (t: Teardown, secretId: string, initial: Record<string, string>): Promise<FakeSecretsManager> {
  let secretString: string | null = JSON.stringify(initial)
  let failure: { status: number, type: string, message: string } | null = null
  let calls = 0
  const server = createServer(async (request, response) => {
    const body = JSON.parse(await readBody(request) || '{}') as { SecretId?: string }
    const target = request.headers['x-amz-target']
    const reply = (status: number, payload: unknown) => {
      response.writeHead(status, { 'content-type': 'application/x-amz-json-1.1' })
      response.end(JSON.stringify(payload))
    }
    if (target !== 'secretsmanager.GetSecretValue') {
      return reply(400, { __type: 'UnknownOperationException', message: `unsupported ${String(target)}` })
    }
    calls++
    if (failure) return reply(failure.status, { __type: failure.type, message: failure.message })
    if (body.SecretId !== secretId) {
      return reply(400, { __type: 'ResourceNotFoundException', message: 'Secrets Manager can\'t find the specified secret.' })
    }
    reply(200, {
      ARN: `arn:aws:secretsmanager:us-east-1:000000000000:secret:${secretId}`,
      Name: secretId,
      VersionId: `v${calls}`,
      ...(secretString === null ? { SecretBinary: 'AAEC' } : { SecretString: secretString }),
      VersionStages: ['AWSCURRENT'],
      CreatedDate: Date.now() / 1000
    })
  })
  server.listen(0, '127.0.0.1')
  await once(server, 'listening')
  t.teardown(() => new Promise((resolve) => server.close(resolve)))
  const { port } = server.address() as AddressInfo
  return {
    env: {
      AWS_SECRETS_MANAGER_SECRET_ID: secretId,
      AWS_ENDPOINT_URL_SECRETS_MANAGER: `http://127.0.0.1:${port}`,
      AWS_REGION: 'us-east-1',
      AWS_ACCESS_KEY_ID: 'AKIDLOCALTEST',
      AWS_SECRET_ACCESS_KEY: 'local-test-credentials'
    },
    setSecret (values) { secretString = JSON.stringify(values) },
    setRawSecret (value) { secretString = value },
    failWith (error) { failure = error },
    get calls () { return calls }
  }
}
