import { randomBytes } from 'node:crypto'
import { boolean, integer, list, number, oneOf, port, secret, string, url } from '@muejam/config'
import { httpsOnly, noDevelopmentPassword } from './production-rules.js'
import { algorithmList, corsOriginList, exactUrl, origin, originList, proxyEntry, publicKeyPem, urlItem } from './validators.js'

const POSTGRES = ['postgres:', 'postgresql:']
const REDIS = ['redis:', 'rediss:']
const HTTP = ['http:', 'https:']

/**
 * Every variable of the API (the package adds AWS_SECRETS_MANAGER_SECRET_ID and
 * AWS_SECRETS_MANAGER_REFRESH_MS). `devDefault` applies outside production; a variable with
 * only a `devDefault` is required in production. Defaults that depend on other variables
 * are derived in ./derive.ts; rules between variables are in ./rules.ts.
 */
export const apiSchema = {
  NODE_ENV: oneOf(['development', 'production', 'test'], { default: 'development', description: 'deployment mode; production turns on every guard rail', fix: 'set NODE_ENV=production in production' }),
  HOST: string({ default: '0.0.0.0', devDefault: '127.0.0.1', description: 'listen address', fix: 'e.g. 0.0.0.0 or 127.0.0.1' }),
  PORT: port({ default: 3000, description: 'listen port', fix: 'e.g. 3000' }),
  LOG_LEVEL: oneOf(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'], {
    default: 'info',
    description: 'log level',
    fix: 'use info in production',
    production: (level) => level === 'debug' || level === 'trace'
      ? { problem: `is ${level}; debug and trace may log personal data and slow the server`, fix: 'set LOG_LEVEL=info' }
      : undefined
  }),
  DEBUG: boolean({
    default: false,
    description: 'verbose errors (stack traces in 5xx bodies) for local development',
    fix: 'set DEBUG=false',
    production: (debug) => debug ? 'is true; it would expose stack traces to clients' : undefined
  }),
  TRUST_PROXY: list({ of: proxyEntry, default: [], description: 'proxies whose X-Forwarded-* headers are believed', fix: 'a comma list such as 10.0.0.0/8,127.0.0.1' }),
  SECURE_SSL_REDIRECT: boolean({
    default: true,
    devDefault: false,
    description: 'redirect plain HTTP to HTTPS and send HSTS',
    fix: 'set SECURE_SSL_REDIRECT=true',
    production: (on) => on ? undefined : { problem: 'is false; plain HTTP would be served', fix: 'set SECURE_SSL_REDIRECT=true and terminate TLS at your load balancer' }
  }),
  PUBLIC_URL: origin(HTTP)({
    devDefault: undefined,
    description: 'the API\'s public origin: HTTPS redirects, Location headers and the OpenAPI servers entry',
    fix: 'e.g. https://api.example.org',
    production: httpsOnly('must be an https:// origin in production; clients would be sent to plain HTTP', 'use the https:// address clients reach the API at')
  }),
  SECRET_KEY: secret({ minLength: 50, devDefault: () => randomBytes(48).toString('base64url'), description: 'server-side HMAC key that signs pagination cursors' }),
  SENTRY_DSN: url({ protocols: HTTP, devDefault: undefined, secret: true, description: 'error reporting target for 5xx errors and crashes', fix: 'copy the DSN from your Sentry project settings' }),
  // Read by the OpenTelemetry SDK itself (packages/tracing); listed here so that a wrong value
  // is refused at start-up and the headers are kept out of logs.
  OTEL_EXPORTER_OTLP_ENDPOINT: url({ protocols: HTTP, default: undefined, description: 'OTLP/HTTP collector base URL; setting it turns tracing on (spans go to <url>/v1/traces)', fix: 'e.g. http://otel-collector:4318' }),
  OTEL_EXPORTER_OTLP_TRACES_ENDPOINT: url({ protocols: HTTP, default: undefined, description: 'full OTLP/HTTP traces URL, instead of OTEL_EXPORTER_OTLP_ENDPOINT; also turns tracing on', fix: 'e.g. http://otel-collector:4318/v1/traces' }),
  OTEL_EXPORTER_OTLP_PROTOCOL: oneOf(['http/protobuf', 'http/json'], { default: undefined, description: 'OTLP encoding (default http/protobuf)', fix: 'http/protobuf or http/json; gRPC is not supported' }),
  OTEL_EXPORTER_OTLP_HEADERS: string({ default: undefined, secret: true, description: 'headers sent with every export, e.g. a vendor API key', fix: 'a comma list such as x-api-key=abc,x-team=1' }),
  OTEL_TRACES_EXPORTER: string({ default: undefined, description: 'span exporters: otlp, console, or none (turns tracing off); setting it turns tracing on', fix: 'otlp, console, otlp,console or none' }),
  OTEL_SERVICE_NAME: string({ default: undefined, description: 'service.name of every span (default muejam-api)', fix: 'e.g. muejam-api' }),
  OTEL_TRACES_SAMPLER: oneOf(['always_on', 'always_off', 'traceidratio', 'parentbased_always_on', 'parentbased_always_off', 'parentbased_traceidratio'], {
    default: undefined,
    description: 'which requests are traced (default parentbased_always_on: all, and as the caller decided)',
    fix: 'e.g. parentbased_traceidratio with OTEL_TRACES_SAMPLER_ARG=0.1'
  }),
  OTEL_TRACES_SAMPLER_ARG: number({ min: 0, max: 1, default: undefined, description: 'share of traces kept by the traceidratio samplers (default 1)', fix: 'a number from 0 to 1, e.g. 0.1' }),
  METRICS_TOKEN: secret({ minLength: 32, devDefault: undefined, description: 'bearer token that GET /metrics requires' }),
  DATABASE_URL: url({
    protocols: POSTGRES,
    devDefault: undefined,
    secret: true,
    description: 'primary PostgreSQL database (empty: embedded PGlite, development only)',
    fix: 'e.g. postgres://user:pass@db:5432/muejam',
    production: noDevelopmentPassword
  }),
  DATABASE_REPLICA_URLS: list({ of: urlItem(POSTGRES), default: [], secret: true, description: 'read replicas', fix: 'a comma list of postgres:// URLs', production: noDevelopmentPassword }),
  DATABASE_EMBEDDED_DIR: string({ default: '.data/pglite', description: 'embedded PGlite data directory, or memory://', fix: 'a writable folder, or memory://' }),
  DB_POOL_MAX: integer({ min: 1, max: 10_000, default: 20, description: 'connections per pool (primary and each replica)', fix: 'e.g. 20' }),
  DB_CONNECT_TIMEOUT_MS: integer({ min: 1, default: 5000, description: 'longest wait for a database connection before answering 503', fix: 'milliseconds, e.g. 5000' }),
  DB_IDLE_TIMEOUT_MS: integer({ default: 30_000, description: 'idle database connection lifetime', fix: 'milliseconds, e.g. 30000' }),
  DB_STATEMENT_TIMEOUT_MS: integer({ default: 30_000, description: 'server-side statement timeout (0 = none)', fix: 'milliseconds, e.g. 30000' }),
  DB_MAX_LIFETIME_MS: integer({ default: 600_000, description: 'longest life of a database connection, closed when next idle (0 = no limit)', fix: 'milliseconds, e.g. 600000' }),
  MIGRATE_ON_START: boolean({ default: undefined, description: 'apply pending migrations before listening (default: only for the embedded database)', fix: 'true or false' }),
  REDIS_URL: url({
    protocols: REDIS,
    devDefault: undefined,
    secret: true,
    description: 'shared rate-limit store (empty: in-process, development only)',
    fix: 'e.g. redis://redis:6379',
    production: noDevelopmentPassword
  }),
  RATE_LIMIT_MAX: integer({ min: 1, default: 100, description: 'requests per window for an anonymous client IP', fix: 'e.g. 100' }),
  RATE_LIMIT_MAX_AUTHENTICATED: integer({ min: 1, default: 1000, description: 'requests per window for a signed-in user', fix: 'e.g. 1000' }),
  RATE_LIMIT_WRITE_MAX: integer({ min: 1, default: 30, description: 'POST requests per minute per signed-in user: the writes budget', fix: 'e.g. 30' }),
  RATE_LIMIT_WINDOW_MS: integer({ min: 1, default: 60_000, description: 'rate-limit window length', fix: 'milliseconds, e.g. 60000' }),
  RATE_LIMIT_ON_STORE_ERROR: oneOf(['open', 'closed'], { default: 'open', description: 'what happens when the rate-limit store fails', fix: 'open (let requests through) or closed (answer 503)' }),
  REQUEST_TIMEOUT_MS: integer({ min: 1, default: 30_000, description: 'per-request deadline', fix: 'milliseconds, e.g. 30000' }),
  BODY_LIMIT_BYTES: integer({ min: 1, default: 1_048_576, description: 'largest accepted request body', fix: 'bytes, e.g. 1048576' }),
  CORS_ORIGINS: corsOriginList({
    default: undefined,
    description: 'browser origins allowed to call the API, scheme://host:* for any port (default: AUTH_AUTHORIZED_PARTIES, in development also http://localhost:* and http://127.0.0.1:*)',
    fix: 'a comma list such as https://app.example.org,http://localhost:*'
  }),
  // Compared with the token's iss character for character: kept as given, trailing slash included.
  AUTH_ISSUER: exactUrl(HTTP)({
    devDefault: undefined,
    description: 'the only accepted token issuer (Clerk: the Frontend API URL)',
    fix: 'e.g. https://clerk.example.org',
    production: httpsOnly('must be an https:// URL', 'use your issuer\'s https:// address')
  }),
  AUTH_JWKS_URL: url({ protocols: HTTP, default: undefined, description: 'where signing keys are fetched (default: AUTH_ISSUER/.well-known/jwks.json)', fix: 'an https:// URL' }),
  AUTH_JWT_KEY: publicKeyPem({ default: undefined, description: 'PEM public key for verification without fetching a JWKS', fix: 'the issuer\'s PEM public key' }),
  AUTH_AUTHORIZED_PARTIES: originList({ default: [], description: 'allowed azp origins; when set, azp is required', fix: 'a comma list such as https://app.example.org' }),
  AUTH_AUDIENCE: string({ default: undefined, description: 'when set, tokens must carry it in aud', fix: 'the audience your issuer puts in tokens' }),
  AUTH_ALGORITHMS: algorithmList({ default: ['RS256'], description: 'accepted token signature algorithms', fix: 'e.g. RS256' }),
  AUTH_CLOCK_SKEW_MS: integer({ max: 300_000, default: 5000, description: 'clock tolerance for exp, nbf and iat', fix: 'milliseconds, e.g. 5000' }),
  AUTH_JWKS_TTL_MS: integer({ min: 1, default: 600_000, description: 'JWKS cache lifetime', fix: 'milliseconds, e.g. 600000' }),
  AUTH_JWKS_COOLDOWN_MS: integer({ default: 30_000, description: 'least time between two JWKS fetches caused by unknown key ids', fix: 'milliseconds, e.g. 30000' }),
  AUTH_JWKS_TIMEOUT_MS: integer({ min: 1, default: 5000, description: 'JWKS fetch timeout', fix: 'milliseconds, e.g. 5000' }),
  SHUTDOWN_DRAIN_MS: integer({ default: 5000, devDefault: 0, description: 'how long readiness fails after SIGTERM before the server closes', fix: 'milliseconds, e.g. 5000' }),
  SHUTDOWN_TIMEOUT_MS: integer({ min: 1, default: 30_000, description: 'hard limit for a graceful shutdown', fix: 'milliseconds, e.g. 30000' }),
  HEALTH_MAX_EVENT_LOOP_DELAY_MS: integer({ default: 1000, description: 'event-loop delay beyond which requests are shed (0 = off)', fix: 'milliseconds, e.g. 1000' }),
  HEALTH_MAX_HEAP_USED_BYTES: integer({ default: 0, description: 'heap use beyond which requests are shed (0 = off)', fix: 'bytes, or 0' }),
  HEALTH_MAX_RSS_BYTES: integer({ default: 0, description: 'resident memory beyond which requests are shed (0 = off)', fix: 'bytes, or 0' }),
  HEALTH_DISK_PATH: string({ default: undefined, description: 'path whose file system the disk check measures (default: the data directory or /)', fix: 'an existing path' }),
  DEV_KEYS_DIR: string({
    default: undefined,
    description: 'folder of the development issuer\'s key pair, used without AUTH_ISSUER outside production (default: .data/dev-keys at the repository root)',
    fix: 'a writable folder; a relative path is taken from the working directory'
  })
}
