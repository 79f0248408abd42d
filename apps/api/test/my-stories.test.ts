import { sql } from 'kysely'
import t from 'tap'
import { authHeaders } from './helpers/auth.js'
import { build, databaseEnv, inspectDatabase } from './helpers/build.js'
import { createStory, type StoryBody } from './helpers/stories.js'

interface StoryPage {
  items: StoryBody[]
  next_cursor: string | null
}

t.test('GET /v1/me/stories', async (t) => {
  const env = await databaseEnv(t, 'my_stories')
  const app = await build(t, env)
  const db = inspectDatabase(t, env.DATABASE_URL)
  const author = 'user_2mineAuthor'
  const other = 'user_2mineOther'
  const asAuthor = authHeaders(author)

  const mine: StoryBody[] = []
  for (let index = 0; index < 5; index++) mine.push(await createStory(app, author, { title: `Mine ${index}`, publish: index % 2 === 0 }))
  const theirs = await createStory(app, other, { title: 'Theirs', publish: true })
  await createStory(app, other, { title: 'Their draft' })
  const gone = await createStory(app, author, { title: 'Deleted' })
  t.equal((await app.inject({ method: 'DELETE', url: `/v1/stories/${gone.id}`, headers: asAuthor })).statusCode, 204)
  // Distinct creation times, so the order is the creation order whatever the clock did.
  for (const [index, story] of mine.entries()) {
    await sql`update stories set created_at = ${new Date(Date.UTC(2026, 0, 1, 0, 0, index))} where id = ${story.id}`.execute(db)
  }
  const newestFirst = [...mine].reverse().map((story) => story.id)

  t.test('lists the caller\'s stories, drafts included, newest created first; nobody else\'s, nothing deleted', async (t) => {
    const response = await app.inject({ url: '/v1/me/stories', headers: asAuthor })
    t.equal(response.statusCode, 200)
    const page = response.json() as StoryPage
    t.same(page.items.map((story) => story.id), newestFirst)
    t.same(page.items.map((story) => story.status), ['published', 'draft', 'published', 'draft', 'published'])
    t.equal(page.next_cursor, null)
    t.notOk(page.items.some((story) => story.id === theirs.id || story.id === gone.id))
    const theirPage = (await app.inject({ url: '/v1/me/stories', headers: authHeaders(other) })).json() as StoryPage
    t.same(theirPage.items.map((story) => story.title), ['Their draft', 'Theirs'], 'the other author sees only theirs')
    const newcomer = await app.inject({ url: '/v1/me/stories', headers: authHeaders('user_2mineNewcomer') })
    t.same(newcomer.json(), { items: [], next_cursor: null }, 'a caller without a profile has no stories')
  })

  t.test('pages with limit and a signed cursor, each story once, in order', async (t) => {
    const seen: string[] = []
    let cursor: string | null = null
    let pages = 0
    do {
      const response = await app.inject({ url: `/v1/me/stories?limit=2${cursor === null ? '' : `&cursor=${cursor}`}`, headers: asAuthor })
      t.equal(response.statusCode, 200)
      const page = response.json() as StoryPage
      t.ok(page.items.length <= 2)
      seen.push(...page.items.map((story) => story.id))
      cursor = page.next_cursor
      pages++
    } while (cursor !== null && pages < 10)
    t.equal(pages, 3)
    t.same(seen, newestFirst)
  })

  t.test('a cursor refused: altered, another list\'s, another user\'s, malformed; no token', async (t) => {
    const first = (await app.inject({ url: '/v1/me/stories?limit=1', headers: asAuthor })).json() as StoryPage
    const cursor = first.next_cursor as string
    const [payload, signature] = cursor.split('.') as [string, string]
    const feedCursor = ((await app.inject('/v1/stories?limit=1')).json() as StoryPage).next_cursor as string
    const forged = `${Buffer.from(JSON.stringify([author, '2030-01-01T00:00:00.000Z', mine[0]?.id])).toString('base64url')}.${signature}`
    for (const [name, value, headers] of [
      ['an altered signature', `${payload}.${signature.slice(0, -2)}AA`, asAuthor],
      ['a forged payload', forged, asAuthor],
      ['a feed cursor', feedCursor, asAuthor],
      ['another user\'s cursor', cursor, authHeaders(other)]
    ] as const) {
      const response = await app.inject({ url: `/v1/me/stories?cursor=${value}`, headers })
      t.equal(response.statusCode, 400, name)
      t.match(response.json(), { code: 'invalid_cursor', errors: [{ field: 'querystring.cursor' }] }, name)
    }
    for (const query of ['cursor=no-dot', 'limit=0', 'limit=101', 'limit=x', 'other=1']) {
      const response = await app.inject({ url: `/v1/me/stories?${query}`, headers: asAuthor })
      t.equal(response.statusCode, 400, query)
      t.equal(response.json().code, 'validation_failed', query)
    }
    const anonymous = await app.inject('/v1/me/stories')
    t.equal(anonymous.statusCode, 401)
    t.equal(anonymous.json().code, 'unauthenticated')
    t.equal(anonymous.headers['www-authenticate'], 'Bearer')
  })
})
