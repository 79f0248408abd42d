import type { SecretsManagerClient } from '@aws-sdk/client-secrets-manager'
import { isModuleNotFound } from '@muejam/problem'
import { MissingPeerError } from './errors.js'
import type { Env } from './types.js'

export type Sdk = typeof import('@aws-sdk/client-secrets-manager')

const FETCH_TIMEOUT_MS = 5000

/**
 * The client honours the SDK's standard variables; values in `env` win so that a
 * configuration loaded from an explicit environment is fetched with that environment.
 */
function createClient (sdk: Sdk, env: Env): SecretsManagerClient {
  const region = env.AWS_REGION ?? env.AWS_DEFAULT_REGION
  const endpoint = env.AWS_ENDPOINT_URL_SECRETS_MANAGER ?? env.AWS_ENDPOINT_URL
  const credentials = env.AWS_ACCESS_KEY_ID && env.AWS_SECRET_ACCESS_KEY
    ? { accessKeyId: env.AWS_ACCESS_KEY_ID, secretAccessKey: env.AWS_SECRET_ACCESS_KEY, sessionToken: env.AWS_SESSION_TOKEN }
    : undefined
  return new sdk.SecretsManagerClient({
    ...(region ? { region } : {}),
    ...(endpoint ? { endpoint } : {}),
    ...(credentials ? { credentials } : {}),
    maxAttempts: 2,
    requestHandler: { connectionTimeout: FETCH_TIMEOUT_MS, requestTimeout: FETCH_TIMEOUT_MS }
  })
}

export const SDK_PACKAGE = '@aws-sdk/client-secrets-manager'

/**
 * Loaded on demand: the SDK costs ~20 MB of memory that services without Secrets Manager
 * should not pay, and they need not install it. Missing, it is a `MissingPeerError` naming
 * the command that installs it. `moduleName` is replaceable for tests. The import is made
 * here: a name resolves from the importing file's package.
 */
export async function loadSdk (moduleName: string = SDK_PACKAGE): Promise<Sdk> {
  try {
    return await import(moduleName) as Sdk
  } catch (error) {
    if (isModuleNotFound(error, moduleName)) throw new MissingPeerError('AWS Secrets Manager (AWS_SECRETS_MANAGER_SECRET_ID)', SDK_PACKAGE)
    throw error
  }
}

/** Fetches a secret holding a JSON object of NAME → value. Error messages never hold values. */
export async function fetchSecretValues (env: Env, secretId: string, sdk: Sdk): Promise<Record<string, string>> {
  const client = createClient(sdk, env)
  try {
    const { SecretString } = await client.send(new sdk.GetSecretValueCommand({ SecretId: secretId }))
    if (SecretString === undefined) throw new Error('the secret has no SecretString (binary secrets are not supported)')
    let parsed: unknown
    try {
      parsed = JSON.parse(SecretString)
    } catch {
      throw new Error('the secret is not JSON')
    }
    if (parsed === null || typeof parsed !== 'object' || Array.isArray(parsed)) {
      throw new Error('the secret is not a JSON object of NAME to value')
    }
    const values: Record<string, string> = {}
    for (const [name, value] of Object.entries(parsed)) {
      if (['string', 'number', 'boolean'].includes(typeof value)) values[name] = String(value)
    }
    return values
  } finally {
    client.destroy()
  }
}
