import { once } from 'node:events'
import { createServer, type IncomingMessage } from 'node:http'
import type { AddressInfo } from 'node:net'

interface Test {
  teardown(fn: () => unknown): void
}

export interface LocalSecretsManager {
  /** Variables that point the real AWS SDK (inside loadConfig) at this server. */
  env: Record<string, string>
  /** Replaces the secret's value, as a rotation does. */
  setSecret(values: Record<string, string>): void
}

async function bodyOf (request: IncomingMessage): Promise<string> {
  let body = ''
  for await (const chunk of request) body += chunk
  return body
}

/** A local HTTP server speaking Secrets Manager's JSON 1.1 protocol for one secret. */
export async function startSecretsManager (t: Test, secretId: string, initial: Record<string, string>): Promise<LocalSecretsManager> {
  let secret = initial
  let version = 0
  const server = createServer(async (request, response) => {
    const { SecretId } = JSON.parse(await bodyOf(request) || '{}') as { SecretId?: string }
    const send = (status: number, payload: unknown) => {
      response.writeHead(status, { 'content-type': 'application/x-amz-json-1.1' })
      response.end(JSON.stringify(payload))
    }
    if (request.method !== 'POST' || request.headers['x-amz-target'] !== 'secretsmanager.GetSecretValue' || SecretId !== secretId) {
      return send(400, { __type: 'ResourceNotFoundException', message: 'Secrets Manager can\'t find the specified secret.' })
    }
    send(200, {
      Name: secretId,
      ARN: `arn:aws:secretsmanager:us-east-1:000000000000:secret:${secretId}`,
      VersionId: `v${++version}`,
      SecretString: JSON.stringify(secret)
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
      AWS_ACCESS_KEY_ID: 'local-test-access-key',
      AWS_SECRET_ACCESS_KEY: 'local-test-secret-access-key'
    },
    setSecret (values) { secret = values }
  }
}
