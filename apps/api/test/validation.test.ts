import type { InjectOptions } from 'fastify'
import { sql } from 'kysely'
import t from 'tap'
import { authHeaders } from './helpers/auth.js'
import { build, databaseEnv, inspectDatabase } from './helpers/build.js'
import { createStory, rowCounts } from './helpers/stories.js'

interface Problem {
  status: number
  code: string
  detail: string
  errors?: Array<{ field: string, message: string }>
}

t.test('bad input is refused with the exact status, code and field, and changes nothing', async (t) => {
  const env = await databaseEnv(t, 'validation')
  const app = await build(t, env)
  const db = inspectDatabase(t, env.DATABASE_URL)
  const author = 'user_2abcValidator'
  const story = await createStory(app, author, { title: 'Valid', publish: true })
  const before = await rowCounts(db)

  const expectations: Array<{ name: string, request: InjectOptions, status: number, code: string, field?: string }> = [
    { name: 'a malformed UUID in the path (GET)', request: { url: '/v1/stories/not-a-uuid' }, status: 400, code: 'validation_failed', field: 'params.id' },
    { name: 'a malformed UUID in the path (chapters)', request: { url: '/v1/stories/123/chapters' }, status: 400, code: 'validation_failed', field: 'params.id' },
    { name: 'a malformed UUID in the path (PATCH)', request: { method: 'PATCH', url: '/v1/stories/zzz', headers: authHeaders(author), body: { title: 'x' } }, status: 400, code: 'validation_failed', field: 'params.id' },
    { name: 'a malformed UUID in the path (DELETE)', request: { method: 'DELETE', url: `/v1/stories/${story.id}x`, headers: authHeaders(author) }, status: 400, code: 'validation_failed', field: 'params.id' },
    { name: 'an unknown body field', request: { method: 'POST', url: '/v1/stories', headers: authHeaders(author), body: { title: 'x', author_id: story.author.id } }, status: 400, code: 'validation_failed', field: 'body.author_id' },
    { name: 'an unknown chapter field', request: { method: 'POST', url: '/v1/stories', headers: authHeaders(author), body: { title: 'x', chapters: [{ title: 'c', content: 'c', position: 9 }] } }, status: 400, code: 'validation_failed', field: 'body.chapters.0.position' },
    { name: 'an unknown PATCH field', request: { method: 'PATCH', url: `/v1/stories/${story.id}`, headers: authHeaders(author), body: { deleted_at: null } }, status: 400, code: 'validation_failed', field: 'body.deleted_at' },
    { name: 'an unknown query parameter', request: { url: '/v1/stories?limit=5&sort=old' }, status: 400, code: 'validation_failed', field: 'querystring.sort' },
    { name: 'a missing title', request: { method: 'POST', url: '/v1/stories', headers: authHeaders(author), body: { description: 'no title' } }, status: 400, code: 'validation_failed', field: 'body.title' },
    { name: 'a title of spaces (empty once trimmed)', request: { method: 'POST', url: '/v1/stories', headers: authHeaders(author), body: { title: '   ' } }, status: 400, code: 'validation_failed', field: 'body.title' },
    { name: 'an over-long title', request: { method: 'POST', url: '/v1/stories', headers: authHeaders(author), body: { title: 'x'.repeat(201) } }, status: 400, code: 'validation_failed', field: 'body.title' },
    { name: 'an over-long title in a PATCH', request: { method: 'PATCH', url: `/v1/stories/${story.id}`, headers: authHeaders(author), body: { title: 'x'.repeat(201) } }, status: 400, code: 'validation_failed', field: 'body.title' },
    { name: 'an over-long description', request: { method: 'POST', url: '/v1/stories', headers: authHeaders(author), body: { title: 'x', description: 'd'.repeat(5001) } }, status: 400, code: 'validation_failed', field: 'body.description' },
    { name: 'a title of the wrong type', request: { method: 'POST', url: '/v1/stories', headers: authHeaders(author), body: { title: 42 } }, status: 400, code: 'validation_failed', field: 'body.title' },
    { name: 'an empty chapter', request: { method: 'POST', url: `/v1/stories/${story.id}/chapters`, headers: authHeaders(author), body: { title: 'c', content: ' ' } }, status: 400, code: 'validation_failed', field: 'body.content' },
    { name: 'an empty PATCH', request: { method: 'PATCH', url: `/v1/stories/${story.id}`, headers: authHeaders(author), body: {} }, status: 400, code: 'validation_failed' },
    { name: 'a non-JSON body', request: { method: 'POST', url: '/v1/stories', headers: { ...authHeaders(author), 'content-type': 'application/json' }, payload: '{"title":' }, status: 400, code: 'malformed_json' },
    { name: 'limit=0', request: { url: '/v1/stories?limit=0' }, status: 400, code: 'validation_failed', field: 'querystring.limit' },
    { name: 'limit=101', request: { url: '/v1/stories?limit=101' }, status: 400, code: 'validation_failed', field: 'querystring.limit' },
    { name: 'limit=abc', request: { url: '/v1/stories?limit=abc' }, status: 400, code: 'validation_failed', field: 'querystring.limit' },
    { name: 'limit=2.5', request: { url: '/v1/stories?limit=2.5' }, status: 400, code: 'validation_failed', field: 'querystring.limit' },
    { name: 'a cursor that is not a cursor', request: { url: '/v1/stories?cursor=hello' }, status: 400, code: 'validation_failed', field: 'querystring.cursor' }
  ]
  for (const { name, request, status, code, field } of expectations) {
    const response = await app.inject(request)
    const problem = response.json() as Problem
    t.equal(response.statusCode, status, `${name}: ${status}`)
    t.equal(problem.code, code, `${name}: ${code}`)
    t.equal(response.headers['content-type'], 'application/problem+json; charset=utf-8')
    if (field !== undefined) t.ok(problem.errors?.some((error) => error.field === field), `${name}: names ${field} (got ${JSON.stringify(problem.errors)})`)
  }
  t.same(await rowCounts(db), before, 'nothing was written')
  t.equal((await app.inject(`/v1/stories/${story.id}`)).json().title, 'Valid', 'nothing was changed')
})

t.test('a tampered or forged cursor, or one signed with another SECRET_KEY, is a 400 invalid_cursor with errors', async (t) => {
  const app = await build(t, { ...await databaseEnv(t, 'cursor'), SECRET_KEY: 'the-signing-key-of-this-deployment-'.repeat(2) })
  for (let i = 0; i < 3; i++) await createStory(app, 'user_2abcPager', { title: `s${i}`, publish: true })
  const page = (await app.inject('/v1/stories?limit=1')).json() as { next_cursor: string }
  const [payload, signature] = page.next_cursor.split('.') as [string, string]
  const decoded = JSON.parse(Buffer.from(payload, 'base64url').toString()) as [string, string]
  const forgedPayload = Buffer.from(JSON.stringify(['2999-01-01T00:00:00.000Z', decoded[1]])).toString('base64url')
  const flipped = signature.startsWith('A') ? `B${signature.slice(1)}` : `A${signature.slice(1)}`
  // Another deployment, with stories of its own, issues a well-formed cursor under its own key.
  const other = await build(t, { ...await databaseEnv(t, 'cursor_other_key'), SECRET_KEY: 'the-signing-key-of-another-deployment-'.repeat(2) })
  for (let i = 0; i < 3; i++) await createStory(other, 'user_2abcOtherPager', { title: `o${i}`, publish: true })
  const foreign = (await other.inject('/v1/stories?limit=1')).json() as { next_cursor: string | null }
  t.type(foreign.next_cursor, 'string', 'the other deployment issues a cursor')
  t.equal((await other.inject(`/v1/stories?cursor=${foreign.next_cursor}`)).statusCode, 200, 'which its own deployment accepts')

  for (const [name, cursor] of [
    ['a changed payload', `${forgedPayload}.${signature}`],
    ['a changed signature', `${payload}.${flipped}`],
    ['a truncated signature', `${payload}.${signature.slice(0, 10)}`],
    ['no signature', `${payload}.x`],
    ['a cursor signed with another SECRET_KEY', String(foreign.next_cursor)]
  ] as const) {
    const response = await app.inject(`/v1/stories?cursor=${cursor}`)
    t.equal(response.statusCode, 400, name)
    const problem = response.json() as Problem
    t.equal(problem.code, 'invalid_cursor', name)
    t.same(problem.errors, [{ field: 'querystring.cursor', message: 'is not a cursor this API issued' }])
  }
  t.equal((await app.inject(`/v1/stories?cursor=${page.next_cursor}`)).statusCode, 200, 'the genuine cursor works')
})

t.test('a body over BODY_LIMIT_BYTES is a 413 and nothing is stored', async (t) => {
  const env = await databaseEnv(t, 'body_limit')
  const app = await build(t, { ...env, BODY_LIMIT_BYTES: '2048' })
  const db = inspectDatabase(t, env.DATABASE_URL)
  const response = await app.inject({ method: 'POST', url: '/v1/stories', headers: authHeaders('user_2abcBig'), body: { title: 'Big', description: 'x'.repeat(3000) } })
  t.equal(response.statusCode, 413)
  t.equal((response.json() as Problem).code, 'body_too_large')
  t.same(await rowCounts(db), { user_profiles: 0, stories: 0, chapters: 0, moderator_roles: 0 })
})

t.test('a chapter containing \\u0000 inside a story creation is a clean 400 and leaves no story row', async (t) => {
  const env = await databaseEnv(t, 'nul')
  const app = await build(t, env)
  const db = inspectDatabase(t, env.DATABASE_URL)
  const response = await app.inject({
    method: 'POST',
    url: '/v1/stories',
    headers: authHeaders('user_2abcNul'),
    body: { title: 'Has a NUL', chapters: [{ title: 'fine', content: 'fine' }, { title: 'bad', content: 'before\u0000after' }] }
  })
  t.equal(response.statusCode, 400)
  const problem = response.json() as Problem
  t.equal(problem.code, 'validation_failed')
  t.ok(problem.errors?.some((error) => error.field === 'body.chapters.1.content'))
  t.notMatch(response.body, /insert|select|invalid byte sequence|0x00/i, 'no SQL or database text')
  t.same(await rowCounts(db), { user_profiles: 0, stories: 0, chapters: 0, moderator_roles: 0 })
})

t.test('a database failure after the first insert rolls the whole creation back, with a generic 500', async (t) => {
  const env = await databaseEnv(t, 'rollback')
  const app = await build(t, env)
  const db = inspectDatabase(t, env.DATABASE_URL)
  // A chapter title the API accepts but the database refuses: the story row is written first.
  await sql`alter table chapters add constraint chapters_not_forbidden check (title <> 'forbidden')`.execute(db)
  const response = await app.inject({
    method: 'POST',
    url: '/v1/stories',
    headers: authHeaders('user_2abcRollback'),
    body: { title: 'Half', chapters: [{ title: 'ok', content: 'ok' }, { title: 'forbidden', content: 'x' }] }
  })
  t.equal(response.statusCode, 500)
  const problem = response.json() as Problem
  t.equal(problem.code, 'internal_error')
  t.equal(problem.detail, 'The server could not complete the request.')
  t.notMatch(response.body, /chapters_not_forbidden|violates|insert/i, 'no SQL or database text')
  t.same(await rowCounts(db), { user_profiles: 1, stories: 0, chapters: 0, moderator_roles: 0 }, 'no story, no chapter (the first sign-in made a profile)')
})

t.test('a cursor signed with the key but not in the cursor format is still refused', async (t) => {
  const { createHmac } = await import('node:crypto')
  const { decodeCursor, encodeCursor } = await import('../src/routes/stories/cursor.js')
  const key = 'k'.repeat(10) + 'a-test-signing-key-that-is-long-enough-for-hmac'
  const signed = (payload: string) => `${payload}.${createHmac('sha256', key).update(`muejam.stories.feed.v1.${payload}`).digest('base64url')}`
  for (const [name, payload] of [
    ['not JSON', Buffer.from('not json').toString('base64url')],
    ['not an array', Buffer.from('{"a":1}').toString('base64url')],
    ['a bad date', Buffer.from('["yesterday","6a0b5cf2-0000-4000-8000-000000000000"]').toString('base64url')],
    ['a bad id', Buffer.from('["2026-01-01T00:00:00.000Z","1"]').toString('base64url')]
  ] as const) {
    t.throws(() => decodeCursor(key, signed(payload)), { statusCode: 400, code: 'invalid_cursor' }, name)
  }
  const position = { publishedAt: new Date('2026-01-01T00:00:00.123Z'), id: '6a0b5cf2-0000-4000-8000-000000000000' }
  t.same(decodeCursor(key, encodeCursor(key, position)), position, 'round trip')
})
