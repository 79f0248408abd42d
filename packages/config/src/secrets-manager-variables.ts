import { integer, string } from './validators.js'

/**
 * The variables the package itself reads: every configuration has them. Setting
 * AWS_SECRETS_MANAGER_SECRET_ID merges that secret into the configuration.
 */
export const secretsManagerVariables = {
  AWS_SECRETS_MANAGER_SECRET_ID: string({
    default: undefined,
    description: 'AWS Secrets Manager secret (JSON object of NAME to value) merged into the configuration',
    fix: 'the secret name or ARN'
  }),
  AWS_SECRETS_MANAGER_REFRESH_MS: integer({
    default: 300_000,
    description: 'how often the Secrets Manager secret is re-read (0 = never)',
    fix: 'milliseconds, e.g. 300000'
  })
}

export type SecretsManagerVariables = typeof secretsManagerVariables
