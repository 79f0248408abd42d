import { parseArgs } from 'node:util'
import { loadDevelopmentIssuer } from '@muejam/auth'
import { ConfigError } from '@muejam/config'
import { loadApiConfig } from './config/index.js'
import { DEVELOPMENT_KEYS_DIR } from './plugin-options.js'

/*
 * pnpm token -- --sub user_123 [--sid sess_1] [--ttl 3600]: prints a session token signed by
 * the development issuer, which a locally started API (no AUTH_ISSUER) trusts.
 */

const USAGE = 'usage: pnpm token -- --sub <user id> [--sid <session id>] [--ttl <seconds>] [--azp <origin>]'

function fail (message: string): never {
  process.stderr.write(`${message}\n`)
  process.exit(1)
}

const { values } = parseArgs({
  args: process.argv.slice(2).filter((arg) => arg !== '--'),
  options: {
    sub: { type: 'string' },
    sid: { type: 'string' },
    azp: { type: 'string' },
    ttl: { type: 'string', default: '3600' }
  }
})
if (!values.sub) fail(USAGE)
const ttl = Number(values.ttl)
if (!Number.isInteger(ttl) || ttl <= 0) fail(`--ttl must be a whole number of seconds\n${USAGE}`)

const config = await loadApiConfig(process.env).then((store) => store.config, (error: unknown) => {
  if (error instanceof ConfigError) fail(error.message)
  throw error
})
if (config.NODE_ENV === 'production') fail('pnpm token signs development tokens only; it refuses NODE_ENV=production')
if (config.AUTH_ISSUER !== undefined) fail(`AUTH_ISSUER is set (${config.AUTH_ISSUER}): the API trusts that issuer, not the development one`)

const issuer = await loadDevelopmentIssuer(DEVELOPMENT_KEYS_DIR)
const claims = { sub: values.sub, ...(values.sid ? { sid: values.sid } : {}), ...(values.azp ? { azp: values.azp } : {}) }
process.stdout.write(`${issuer.sign(claims, { expiresInS: ttl })}\n`)
