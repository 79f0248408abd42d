import { randomBytes } from 'node:crypto'
import { SecretRedactor } from '@muejam/observability'
import { startSentryIngest } from '@muejam/testing/sentry-ingest'
import Fastify from 'fastify'
import t from 'tap'
import { loadApiConfig } from '../src/config/index.js'
import { wantsPrettyLogs } from '../src/server-log-output.js'
import { secretValues, serverOptions } from '../src/server-options.js'
import { startApiProcess } from './helpers/api-process.js'
import { databaseEnv } from './helpers/build.js'
import { claimRedisDatabase } from './helpers/redis.js'

// Colour codes, and the carriage returns a pseudo-terminal adds before each newline.
const ESC = String.fromCharCode(27)
const plain = (text: string) => text.replaceAll('\r', '').split(ESC).map((part, i) => i === 0 ? part : part.replace(/^\[[0-9;]*m/, '')).join('')
const JSON_LINE = /^\{"level":\d+/m

t.test('under a terminal outside production the server writes pino-pretty lines, the request line among them at debug', async (t) => {
  const api = await startApiProcess(t, { ...await databaseEnv(t, 'pretty_tty'), NODE_ENV: 'development', LOG_LEVEL: 'debug' }, { terminal: true })
  const answer = await api.request('/v1/stories')
  t.equal(answer.status, 200)
  const id = String(answer.headers['x-request-id'])
  let output = ''
  for (let tries = 0; tries < 100 && !output.includes(id); tries++) {
    await new Promise((resolve) => setTimeout(resolve, 20))
    output = plain(api.output())
  }
  t.match(output, /^\[\d\d:\d\d:\d\d\.\d{3}\] INFO: Server listening at http:\/\/127\.0\.0\.1:\d+$/m, 'time, level and message on one readable line')
  t.match(output, new RegExp(String.raw`^\[[\d:.]+\] DEBUG: request completed\n(?:    .+\n)*?    reqId: "${id}"`, 'm'))
  t.match(output, /^ {4}route: "\/v1\/stories"$/m)
  t.match(output, /^ {4}status: 200$/m)
  t.notMatch(output, JSON_LINE, 'no JSON line')
  t.match(api.output(), `${ESC}[32mINFO`, 'in colour')
})

t.test('under a terminal in production, and outside a terminal, the server writes JSON lines', async (t) => {
  const ingest = await startSentryIngest(t)
  const redis = await claimRedisDatabase(t, 'pretty_production')
  const production = {
    ...await databaseEnv(t, 'pretty_production'),
    NODE_ENV: 'production',
    SECRET_KEY: randomBytes(48).toString('base64url'),
    METRICS_TOKEN: randomBytes(32).toString('base64url'),
    SENTRY_DSN: ingest.dsn,
    REDIS_URL: redis.url,
    PUBLIC_URL: 'https://api.muejam.example.org'
  }
  const inProduction = await startApiProcess(t, production, { terminal: true })
  t.match(plain(inProduction.output()), /^\{"level":30,.*"msg":"Server listening at http:\/\/127\.0\.0\.1:\d+"\}$/m)
  t.notMatch(plain(inProduction.output()), / INFO: /)
  await inProduction.terminate()

  const piped = await startApiProcess(t, { ...await databaseEnv(t, 'pretty_pipe'), NODE_ENV: 'development' })
  t.ok(piped.logs().some((line) => /^Server listening/.test(String(line.msg))), 'parsed JSON lines')
  t.notMatch(piped.output(), / INFO: /)
})

t.test('pretty lines are written after redaction: a secret in a message stays hidden', async (t) => {
  const secretKey = randomBytes(48).toString('base64url')
  const { config } = await loadApiConfig({ NODE_ENV: 'development', SECRET_KEY: secretKey, LOG_LEVEL: 'info' })
  let written = ''
  const terminal = { isTTY: true, write: (text: string) => { written += text } }
  const app = Fastify(serverOptions(config, new SecretRedactor(secretValues(config)), terminal))
  t.teardown(() => app.close())
  app.log.info(`the key is ${secretKey}`)
  t.match(plain(written), /^\[[\d:.]+\] INFO: the key is \S+\n$/)
  t.notOk(written.includes(secretKey))

  t.equal(wantsPrettyLogs({ NODE_ENV: 'test' }, terminal), true, 'tests run in a terminal get them too')
  t.equal(wantsPrettyLogs({ NODE_ENV: 'production' }, terminal), false)
  t.equal(wantsPrettyLogs({ NODE_ENV: 'development' }, { isTTY: false, write: () => true }), false)
  t.equal(wantsPrettyLogs({ NODE_ENV: 'development' }, { write: () => true }), false, 'a stream that says nothing is not a terminal')
})
