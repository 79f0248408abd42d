import { randomBytes } from 'node:crypto'
import { connectAdmin } from '@muejam/testing/database'
import { startSentryIngest } from '@muejam/testing/sentry-ingest'
import { sql } from 'kysely'
import t from 'tap'
import { startApiProcess } from './helpers/api-process.js'
import { signToken } from './helpers/auth.js'
import { build, databaseEnv, inspectDatabase } from './helpers/build.js'
import { createStory } from './helpers/stories.js'

const COOKIE_VALUE = randomBytes(24).toString('base64url')

interface SentryEvent {
  tags: Record<string, string>
  transaction: string
  user?: { id?: string }
  request?: unknown
  exception: { values: Array<{ type: string, value: string }> }
}

t.test('an error thrown inside a route produces exactly one event at the ingest server, with the request id and no authorization', async (t) => {
  const ingest = await startSentryIngest(t)
  const env = await databaseEnv(t, 'sentry')
  const app = await build(t, { ...env, SENTRY_DSN: ingest.dsn })
  const db = inspectDatabase(t, env.DATABASE_URL)
  const story = await createStory(app, 'user_2abcReportedAuthor', { title: 'Reported', publish: true, chapters: [{ title: 'One', content: 'Text' }] })

  // Client errors are the client's business: none of these is reported.
  const expired = signToken('user_2abcReader', { iat: 1_700_000_000, nbf: 1_700_000_000, exp: 1_700_000_600 })
  t.equal((await app.inject({ url: `/v1/stories/${story.id}/chapters`, headers: { authorization: `Bearer ${expired}` } })).statusCode, 401)
  t.equal((await app.inject('/v1/stories/not-a-uuid/chapters')).statusCode, 400)
  t.equal((await app.inject('/v1/stories/00000000-0000-4000-8000-000000000000/chapters')).statusCode, 404)
  t.equal((await app.inject({ method: 'POST', url: '/v1/stories', body: { title: 'x' } })).statusCode, 401)

  // The chapters table disappears under the running API: the route fails with an error it
  // does not know.
  await sql`drop table chapters`.execute(db)
  const token = signToken('user_2abcReader')
  const response = await app.inject({
    url: `/v1/stories/${story.id}/chapters`,
    headers: { authorization: `Bearer ${token}`, cookie: `__session=${COOKIE_VALUE}`, 'x-request-id': 'report-7f3a' }
  })
  t.equal(response.statusCode, 500)
  t.match(response.json(), { code: 'internal_error', detail: 'The server could not complete the request.', request_id: 'report-7f3a' })
  t.notMatch(response.body, /relation|does not exist|\bselect\b|"stack"/i, 'nothing internal in the body')
  await app.close() // flushes pending reports

  const events = ingest.events() as unknown as SentryEvent[]
  t.equal(events.length, 1, 'exactly one event')
  const event = events[0] as SentryEvent
  t.match(event.tags, { request_id: 'report-7f3a', route: '/v1/stories/:id/chapters', method: 'GET' })
  t.equal(String(event.tags.status), '500')
  t.equal(event.transaction, 'GET /v1/stories/:id/chapters', 'named by the route pattern')
  t.same(event.user, { id: 'user_2abcReader' })
  t.match(event.exception.values.at(-1), { value: /relation "chapters" does not exist/ })
  t.equal(event.request, undefined, 'no request data: headers, cookies, query string, body')
  t.match(ingest.envelopes[0]?.path, /^\/api\/1\/envelope\//)

  const raw = ingest.raw()
  t.notMatch(raw, /authorization/i, 'no authorization header, by name')
  for (const [name, value] of [['token', token], ['token signature', token.split('.')[2] as string], ['cookie', COOKIE_VALUE], ['story id (the raw URL)', story.id]]) {
    t.notOk(raw.includes(value as string), `no ${name as string} in the report`)
  }
})

t.test('the built server reports a 500 once and flushes it before a clean exit', async (t) => {
  const env = await databaseEnv(t, 'sentry_process')
  const ingest = await startSentryIngest(t)
  const server = await startApiProcess(t, { ...env, SENTRY_DSN: ingest.dsn })
  const token = signToken('user_2abcProcessReader')
  const headers = { authorization: `Bearer ${token}`, 'content-type': 'application/json', 'x-request-id': 'process-report-1' }
  t.equal((await fetch(`${server.url}/v1/me`, { headers })).status, 200)

  const admin = await connectAdmin(env.DATABASE_URL)
  await admin.query('drop table stories cascade').finally(() => admin.end())
  const failed = await fetch(`${server.url}/v1/stories`, { method: 'POST', headers, body: JSON.stringify({ title: 'Lost' }) })
  t.equal(failed.status, 500)
  t.equal(failed.headers.get('x-request-id'), 'process-report-1')
  t.equal((await fetch(`${server.url}/v1/stories?limit=1`)).status, 500, 'a second failing request')
  t.equal((await server.terminate()).code, 0)

  const events = ingest.events() as unknown as SentryEvent[]
  t.equal(events.length, 2, 'one event per failed request, all delivered before the process exited')
  t.match(events.find((event) => event.tags.request_id === 'process-report-1'), {
    transaction: 'POST /v1/stories',
    user: { id: 'user_2abcProcessReader' },
    tags: { route: '/v1/stories' }
  })
  t.notMatch(ingest.raw(), /authorization/i)
  t.notOk(ingest.raw().includes(token), 'no token')
})
