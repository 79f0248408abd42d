import {
  algorithmList, boolean, exactUrl, GENERATE_SECRET_HINT, integer, oneOf, origin, originList, proxyList,
  publicKeyPem, text, url, urlList
} from './validators.js'

const POSTGRES = ['postgres:', 'postgresql:']
const REDIS = ['redis:', 'rediss:']
const HTTP = ['http:', 'https:']

/** Marks a variable whose value must never be printed or logged. */
const secretValue = { secret: true } as const

/**
 * Every variable of the service: envalid spec, what it is for (`desc`) and how to fix it
 * (`fix`). `devDefault` applies outside production; a variable with only a `devDefault` is
 * required in production. `devSecretKey` is drawn once per process so a refresh keeps it.
 */
export function buildSchema (devSecretKey: string) {
  return {
    NODE_ENV: { ...oneOf(['development', 'production', 'test'])({ default: 'development', desc: 'deployment mode; production turns on every guard rail' }), fix: 'set NODE_ENV=production in production' },
    HOST: { ...text({ default: '0.0.0.0', devDefault: '127.0.0.1', desc: 'listen address' }), fix: 'e.g. 0.0.0.0 or 127.0.0.1' },
    PORT: { ...integer({ min: 0, max: 65535 })({ default: 3000, desc: 'listen port' }), fix: 'e.g. 3000' },
    LOG_LEVEL: { ...oneOf(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'])({ default: 'info', desc: 'log level' }), fix: 'use info in production' },
    DEBUG: { ...boolean({ default: false, desc: 'verbose errors (stack traces in 5xx bodies) for local development' }), fix: 'set DEBUG=false' },
    TRUST_PROXY: { ...proxyList({ default: [], desc: 'proxies whose X-Forwarded-* headers are believed' }), fix: 'a comma list such as 10.0.0.0/8,127.0.0.1' },
    SECURE_SSL_REDIRECT: { ...boolean({ default: true, devDefault: false, desc: 'redirect plain HTTP to HTTPS and send HSTS' }), fix: 'set SECURE_SSL_REDIRECT=true' },
    PUBLIC_URL: { ...origin(HTTP)({ devDefault: undefined, desc: 'the API\'s public origin: HTTPS redirects, Location headers and the OpenAPI servers entry' }), fix: 'e.g. https://api.example.org' },
    SECRET_KEY: { ...text({ devDefault: devSecretKey, desc: 'server-side HMAC key that signs pagination cursors' }), ...secretValue, fix: GENERATE_SECRET_HINT },
    SENTRY_DSN: { ...url(HTTP)({ devDefault: undefined, desc: 'error reporting target for 5xx errors and crashes' }), ...secretValue, fix: 'copy the DSN from your Sentry project settings' },
    METRICS_TOKEN: { ...text({ devDefault: undefined, desc: 'bearer token that GET /metrics requires' }), ...secretValue, fix: GENERATE_SECRET_HINT },
    DATABASE_URL: { ...url(POSTGRES)({ devDefault: undefined, desc: 'primary PostgreSQL database (empty: embedded PGlite, development only)' }), ...secretValue, fix: 'e.g. postgres://user:pass@db:5432/muejam' },
    DATABASE_REPLICA_URLS: { ...urlList(POSTGRES)({ default: [], desc: 'read replicas' }), ...secretValue, fix: 'a comma list of postgres:// URLs' },
    DATABASE_EMBEDDED_DIR: { ...text({ default: '.data/pglite', desc: 'embedded PGlite data directory, or memory://' }), fix: 'a writable folder, or memory://' },
    DB_POOL_MAX: { ...integer({ min: 1, max: 10_000 })({ default: 20, desc: 'connections per pool (primary and each replica)' }), fix: 'e.g. 20' },
    DB_CONNECT_TIMEOUT_MS: { ...integer({ min: 1 })({ default: 5000, desc: 'longest wait for a database connection before answering 503' }), fix: 'milliseconds, e.g. 5000' },
    DB_IDLE_TIMEOUT_MS: { ...integer()({ default: 30_000, desc: 'idle database connection lifetime' }), fix: 'milliseconds, e.g. 30000' },
    DB_STATEMENT_TIMEOUT_MS: { ...integer()({ default: 30_000, desc: 'server-side statement timeout (0 = none)' }), fix: 'milliseconds, e.g. 30000' },
    MIGRATE_ON_START: { ...boolean({ default: undefined, desc: 'apply pending migrations before listening (default: only for the embedded database)' }), fix: 'true or false' },
    REDIS_URL: { ...url(REDIS)({ devDefault: undefined, desc: 'shared rate-limit store (empty: in-process, development only)' }), ...secretValue, fix: 'e.g. redis://redis:6379' },
    RATE_LIMIT_MAX: { ...integer({ min: 1 })({ default: 100, desc: 'requests per window for an anonymous client IP' }), fix: 'e.g. 100' },
    RATE_LIMIT_MAX_AUTHENTICATED: { ...integer({ min: 1 })({ default: 1000, desc: 'requests per window for a signed-in user' }), fix: 'e.g. 1000' },
    RATE_LIMIT_WRITE_MAX: { ...integer({ min: 1 })({ default: 30, desc: 'POST requests per minute per signed-in user: the writes budget' }), fix: 'e.g. 30' },
    RATE_LIMIT_WINDOW_MS: { ...integer({ min: 1 })({ default: 60_000, desc: 'rate-limit window length' }), fix: 'milliseconds, e.g. 60000' },
    RATE_LIMIT_ON_STORE_ERROR: { ...oneOf(['open', 'closed'])({ default: 'open', desc: 'what happens when the rate-limit store fails' }), fix: 'open (let requests through) or closed (answer 503)' },
    REQUEST_TIMEOUT_MS: { ...integer({ min: 1 })({ default: 30_000, desc: 'per-request deadline' }), fix: 'milliseconds, e.g. 30000' },
    BODY_LIMIT_BYTES: { ...integer({ min: 1 })({ default: 1_048_576, desc: 'largest accepted request body' }), fix: 'bytes, e.g. 1048576' },
    CORS_ORIGINS: { ...originList({ default: undefined, desc: 'browser origins allowed to call the API (default: AUTH_AUTHORIZED_PARTIES)' }), fix: 'a comma list such as https://app.example.org' },
    AWS_SECRETS_MANAGER_SECRET_ID: { ...text({ default: undefined, desc: 'AWS Secrets Manager secret (JSON object of NAME to value) merged into the configuration' }), fix: 'the secret name or ARN' },
    AWS_SECRETS_MANAGER_REFRESH_MS: { ...integer()({ default: 300_000, desc: 'how often the Secrets Manager secret is re-read (0 = never)' }), fix: 'milliseconds, e.g. 300000' },
    // Compared with the token's iss character for character: kept as given, trailing slash included.
    AUTH_ISSUER: { ...exactUrl(HTTP)({ devDefault: undefined, desc: 'the only accepted token issuer (Clerk: the Frontend API URL)' }), fix: 'e.g. https://clerk.example.org' },
    AUTH_JWKS_URL: { ...url(HTTP)({ default: undefined, desc: 'where signing keys are fetched (default: AUTH_ISSUER/.well-known/jwks.json)' }), fix: 'an https:// URL' },
    AUTH_JWT_KEY: { ...publicKeyPem({ default: undefined, desc: 'PEM public key for verification without fetching a JWKS' }), fix: 'the issuer\'s PEM public key' },
    AUTH_AUTHORIZED_PARTIES: { ...originList({ default: [], desc: 'allowed azp origins; when set, azp is required' }), fix: 'a comma list such as https://app.example.org' },
    AUTH_AUDIENCE: { ...text({ default: undefined, desc: 'when set, tokens must carry it in aud' }), fix: 'the audience your issuer puts in tokens' },
    AUTH_ALGORITHMS: { ...algorithmList({ default: ['RS256'], desc: 'accepted token signature algorithms' }), fix: 'e.g. RS256' },
    AUTH_CLOCK_SKEW_MS: { ...integer({ max: 300_000 })({ default: 5000, desc: 'clock tolerance for exp, nbf and iat' }), fix: 'milliseconds, e.g. 5000' },
    AUTH_JWKS_TTL_MS: { ...integer({ min: 1 })({ default: 600_000, desc: 'JWKS cache lifetime' }), fix: 'milliseconds, e.g. 600000' },
    AUTH_JWKS_COOLDOWN_MS: { ...integer()({ default: 30_000, desc: 'least time between two JWKS fetches caused by unknown key ids' }), fix: 'milliseconds, e.g. 30000' },
    AUTH_JWKS_TIMEOUT_MS: { ...integer({ min: 1 })({ default: 5000, desc: 'JWKS fetch timeout' }), fix: 'milliseconds, e.g. 5000' },
    SHUTDOWN_DRAIN_MS: { ...integer()({ default: 5000, devDefault: 0, desc: 'how long readiness fails after SIGTERM before the server closes' }), fix: 'milliseconds, e.g. 5000' },
    SHUTDOWN_TIMEOUT_MS: { ...integer({ min: 1 })({ default: 30_000, desc: 'hard limit for a graceful shutdown' }), fix: 'milliseconds, e.g. 30000' },
    HEALTH_MAX_EVENT_LOOP_DELAY_MS: { ...integer()({ default: 1000, desc: 'event-loop delay beyond which requests are shed (0 = off)' }), fix: 'milliseconds, e.g. 1000' },
    HEALTH_MAX_HEAP_USED_BYTES: { ...integer()({ default: 0, desc: 'heap use beyond which requests are shed (0 = off)' }), fix: 'bytes, or 0' },
    HEALTH_MAX_RSS_BYTES: { ...integer()({ default: 0, desc: 'resident memory beyond which requests are shed (0 = off)' }), fix: 'bytes, or 0' },
    HEALTH_DISK_PATH: { ...text({ default: undefined, desc: 'path whose file system the disk check measures (default: the data directory or /)' }), fix: 'an existing path' }
  }
}

export type Schema = ReturnType<typeof buildSchema>
export type VariableName = keyof Schema

export const VARIABLE_NAMES = Object.keys(buildSchema('')) as VariableName[]

/** Variables whose values are secrets: never printed, logged or serialised. */
export const SECRET_VARIABLES = VARIABLE_NAMES.filter((name) => 'secret' in buildSchema('')[name])
