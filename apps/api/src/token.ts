import { loadDevelopmentIssuer } from '@muejam/auth'
import { ConfigError } from '@muejam/config'
import { withEnvFile } from './config/env-file.js'
import { loadApiConfig } from './config/index.js'
import { HELP, parseTokenArguments, UsageError } from './token-arguments.js'

/*
 * pnpm run token -- --sub user_123 [--sid sess_1] [--ttl 1h] [--azp origin]: prints a session
 * token signed by the development issuer, which a locally started API (no AUTH_ISSUER) trusts.
 * Every refusal is one line on stderr: exit 2 for a wrong command line, 1 otherwise.
 */

const EXIT_USAGE = 2

function fail (message: string, code = 1): never {
  process.stderr.write(`${message}\n`)
  process.exit(code)
}

function readRequest () {
  try {
    return parseTokenArguments(process.argv.slice(2))
  } catch (error) {
    if (error instanceof UsageError) fail(`pnpm run token: ${error.message} (see pnpm run token -- --help)`, EXIT_USAGE)
    throw error
  }
}

const request = readRequest()
if (request.help) {
  process.stdout.write(HELP)
  process.exit(0)
}

const config = await withEnvFile(process.env)
  .then(({ env }) => loadApiConfig(env))
  .then((store) => store.config, (error: unknown) => {
    if (error instanceof ConfigError) fail(error.message)
    throw error
  })
if (config.NODE_ENV === 'production') fail('pnpm token signs development tokens only; it refuses NODE_ENV=production')
if (config.AUTH_ISSUER !== undefined) fail(`AUTH_ISSUER is set (${config.AUTH_ISSUER}): the API trusts that issuer, not the development one`)

const issuer = await loadDevelopmentIssuer(config.DEV_KEYS_DIR).catch((error: unknown) =>
  fail(`pnpm run token: cannot use the development keys in ${config.DEV_KEYS_DIR}: ${(error as Error).message}`))
const claims = { sub: request.sub, ...(request.sid ? { sid: request.sid } : {}), ...(request.azp ? { azp: request.azp } : {}) }
process.stdout.write(`${issuer.sign(claims, { expiresInS: request.ttlSeconds })}\n`)
