import type { SecretsManagerClient } from '@aws-sdk/client-secrets-manager'
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

/** The SDK is an optional peer: missing, it is reported with the command that installs it. */
export class MissingSdkError extends Error {
  constructor (readonly packageName: string) {
    super(`needs ${packageName}, which is not installed (npm install ${packageName})`)
    this.name = 'MissingSdkError'
  }
}

/**
 * Loaded on demand: the SDK costs ~20 MB of memory that services without Secrets Manager
 * should not pay, and they need not install it. `moduleName` is replaceable for tests.
 */
export async function loadSdk (moduleName: string = SDK_PACKAGE): Promise<Sdk> {
  try {
    return await import(moduleName) as Sdk
  } catch (error) {
    // Loaders (TypeScript runners) may rethrow without Node's ERR_MODULE_NOT_FOUND code.
    const message = String((error as Error | undefined)?.message)
    if (message.includes(`Cannot find package '${moduleName}'`) || message.includes(`Cannot find module '${moduleName}'`)) {
      throw new MissingSdkError(SDK_PACKAGE)
    }
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
