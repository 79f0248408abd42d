import { connectAdmin } from '@muejam/testing/database'
import { requestIdFrom } from '@muejam/observability'
import Fastify from 'fastify'
import { sql } from 'kysely'
import t from 'tap'
import problem from '@muejam/problem'
import { problemOptions } from '../src/problem.js'
import { authHeaders } from './helpers/auth.js'
import { build, databaseEnv, inspectDatabase } from './helpers/build.js'
import { createStory, rowCounts } from './helpers/stories.js'

const DATA_EXCEPTION_DETAIL = 'A value in the request is not one the database can store: malformed, out of range, too long, or holding a character such as NUL.'

interface Problem {
  status: number
  code: string
  detail: string
}

/** Statements PostgreSQL refuses with a data exception (SQLSTATE class 22), and the value that causes it. */
const DATA_EXCEPTIONS: Array<{ state: string, statement: string, value: string }> = [
  { state: '22P02', statement: 'select $1::uuid', value: 'urn:uuid:00000000-0000-0000-0000-000000000000' },
  { state: '22021', statement: 'select $1::text', value: 'before\u0000after' },
  { state: '22P05', statement: 'select $1::jsonb', value: '"\\u0000"' },
  { state: '22003', statement: 'select $1::integer', value: '99999999999' },
  { state: '22007', statement: 'select $1::timestamptz', value: 'yesterday-ish' },
  { state: '22008', statement: 'select $1::date', value: '2026-02-30' },
  { state: '22023', statement: 'select generate_series(1, 3, $1::integer)', value: '0' },
  { state: '2201X', statement: 'select 1 offset $1::integer', value: '-1' },
  { state: '2201W', statement: 'select 1 limit $1::integer', value: '-1' }
]

t.test('a data exception from PostgreSQL is a 400 invalid_input that quotes neither the SQL nor the value', async (t) => {
  const client = await connectAdmin()
  t.teardown(() => client.end())
  const app = Fastify({ genReqId: requestIdFrom })
  t.teardown(() => app.close())
  await app.register(problem, problemOptions(false))
  app.post<{ Body: { statement: string, value: string } }>('/run', async (request) => {
    await client.query(request.body.statement, [request.body.value])
    return { ran: true }
  })

  for (const { state, statement, value } of DATA_EXCEPTIONS) {
    const direct = await client.query(statement, [value]).then(() => 'no error', (error: { code?: string }) => error.code)
    t.equal(direct, state, `PostgreSQL refuses ${statement} with ${state}`)
    const response = await app.inject({ method: 'POST', url: '/run', body: { statement, value } })
    t.equal(response.statusCode, 400, `${state}: 400`)
    t.equal(response.headers['content-type'], 'application/problem+json; charset=utf-8')
    const problem = response.json() as Problem
    t.equal(problem.code, 'invalid_input', `${state}: invalid_input`)
    t.equal(problem.detail, DATA_EXCEPTION_DETAIL)
    t.notMatch(response.body, /select|uuid|integer|jsonb|invalid input|syntax|00000000|yesterday|2026|\\u0000/i, `${state}: no SQL, no database message, no value`)
  }

  for (const [name, statement] of [
    ['a syntax error (42601)', 'select from where $1'],
    ['an unknown function (42883)', 'select no_such_function($1)']
  ] as const) {
    const response = await app.inject({ method: 'POST', url: '/run', body: { statement, value: '1' } })
    t.equal(response.statusCode, 500, `${name} stays a 500: the fault is ours`)
    t.equal((response.json() as Problem).code, 'internal_error')
  }
})

t.test('a value the schema accepts but the database refuses (class 22) is a 400 through the routes, and changes nothing', async (t) => {
  const env = await databaseEnv(t, 'data_exception')
  const app = await build(t, env)
  const db = inspectDatabase(t, env.DATABASE_URL)
  const author = 'user_2abcDataException'
  const story = await createStory(app, author, { title: 'Short', publish: true })
  // The schema allows 200 characters; a narrower column makes PostgreSQL refuse a longer
  // title with 22001 (string_data_right_truncation), as it would any value it cannot hold.
  await sql`alter table stories alter column title type varchar(8)`.execute(db)
  await sql`alter table chapters alter column title type varchar(8)`.execute(db)
  const before = await rowCounts(db)

  for (const [name, request] of [
    ['POST /v1/stories', { method: 'POST' as const, url: '/v1/stories', headers: authHeaders(author), body: { title: 'Longer than eight' } }],
    ['POST /v1/stories with chapters', { method: 'POST' as const, url: '/v1/stories', headers: authHeaders(author), body: { title: 'Fits', chapters: [{ title: 'Fits', content: 'x' }, { title: 'Too long a chapter title', content: 'y' }] } }],
    ['PATCH /v1/stories/:id', { method: 'PATCH' as const, url: `/v1/stories/${story.id}`, headers: authHeaders(author), body: { title: 'Longer than eight' } }],
    ['POST /v1/stories/:id/chapters', { method: 'POST' as const, url: `/v1/stories/${story.id}/chapters`, headers: authHeaders(author), body: { title: 'Longer than eight', content: 'z' } }]
  ] as const) {
    const response = await app.inject(request)
    t.equal(response.statusCode, 400, `${name}: 400`)
    t.equal((response.json() as Problem).code, 'invalid_input', `${name}: invalid_input`)
    t.notMatch(response.body, /varying|value too long|insert|update /i, `${name}: no SQL or database text`)
  }
  t.same(await rowCounts(db), before, 'nothing was written')
  const stored = await db.selectFrom('stories').select(['title', 'updated_at']).where('id', '=', story.id).executeTakeFirstOrThrow()
  t.equal(stored.title, 'Short', 'the story is unchanged')
  t.equal(stored.updated_at.toISOString(), story.updated_at, 'not even touched')
})
