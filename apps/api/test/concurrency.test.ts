import t from 'tap'
import { authHeaders } from './helpers/auth.js'
import { build, databaseEnv, inspectDatabase } from './helpers/build.js'
import { createStory, type StoryBody } from './helpers/stories.js'

t.test('45 published stories paged with limit=20: 45 distinct, newest first, then no cursor', async (t) => {
  const env = await databaseEnv(t, 'pages')
  const app = await build(t, env)
  const db = inspectDatabase(t, env.DATABASE_URL)
  // Created concurrently, so many share a publication millisecond: the id breaks ties.
  const created = await Promise.all(Array.from({ length: 45 }, (_, n) => createStory(app, `user_2abcPage${n % 3}`, { title: `Story ${n}`, publish: true })))
  await createStory(app, 'user_2abcPage0', { title: 'A draft stays out' })
  const gone = await createStory(app, 'user_2abcPage0', { title: 'Deleted stays out', publish: true })
  t.equal((await app.inject({ method: 'DELETE', url: `/v1/stories/${gone.id}`, headers: authHeaders('user_2abcPage0') })).statusCode, 204)

  const seen: StoryBody[] = []
  const sizes: number[] = []
  let cursor: string | null = null
  do {
    const url: string = `/v1/stories?limit=20${cursor === null ? '' : `&cursor=${cursor}`}`
    const response = await app.inject(url)
    t.equal(response.statusCode, 200)
    const page = response.json() as { items: StoryBody[], next_cursor: string | null }
    sizes.push(page.items.length)
    seen.push(...page.items)
    cursor = page.next_cursor
    // A story published between two pages does not shift the next page.
    if (sizes.length === 1) await createStory(app, 'user_2abcLate', { title: 'Published while paging', publish: true })
  } while (cursor !== null)

  t.same(sizes, [20, 20, 5])
  t.equal(new Set(seen.map((story) => story.id)).size, 45, '45 distinct stories')
  t.same(new Set(seen.map((story) => story.id)), new Set(created.map((story) => story.id)), 'exactly the published ones')
  const order = await db.selectFrom('stories').select(['id']).where('published_at', 'is not', null).where('deleted_at', 'is', null)
    .where('title', '!=', 'Published while paging')
    .orderBy('published_at', 'desc').orderBy('id', 'desc').execute()
  t.same(seen.map((story) => story.id), order.map((row) => row.id), 'newest first, ties by id')
  for (let i = 1; i < seen.length; i++) {
    t.ok((seen[i - 1]?.published_at ?? '') >= (seen[i]?.published_at ?? ''), 'publication times never increase')
  }
  const first = (await app.inject('/v1/stories')).json() as { items: StoryBody[] }
  t.equal(first.items.length, 20, 'limit defaults to 20')
  t.equal(first.items[0]?.title, 'Published while paging', 'a new story shows up on a fresh first page')
})

t.test('20 concurrent chapter appends get positions 1..20 with no gap or duplicate', async (t) => {
  const env = await databaseEnv(t, 'appends')
  const app = await build(t, env)
  const story = await createStory(app, 'user_2abcSerial', { title: 'Serial', publish: true })
  const responses = await Promise.all(Array.from({ length: 20 }, (_, n) => app.inject({
    method: 'POST',
    url: `/v1/stories/${story.id}/chapters`,
    headers: authHeaders('user_2abcSerial'),
    body: { title: `Chapter ${n}`, content: `Text ${n}` }
  })))
  t.same(responses.map((response) => response.statusCode), Array(20).fill(201))
  const positions = responses.map((response) => (response.json() as { position: number }).position).sort((a, b) => a - b)
  t.same(positions, Array.from({ length: 20 }, (_, n) => n + 1))
  const listed = (await app.inject(`/v1/stories/${story.id}/chapters`)).json() as { items: Array<{ position: number, title: string }> }
  t.same(listed.items.map((chapter) => chapter.position), Array.from({ length: 20 }, (_, n) => n + 1))
  t.equal(new Set(listed.items.map((chapter) => chapter.title)).size, 20, 'every chapter kept')
})

t.test('50 concurrent first calls of GET /v1/me create one profile', async (t) => {
  const env = await databaseEnv(t, 'me')
  const app = await build(t, env)
  const db = inspectDatabase(t, env.DATABASE_URL)
  const responses = await Promise.all(Array.from({ length: 50 }, () => app.inject({ url: '/v1/me', headers: authHeaders('user_2abcConcurrent') })))
  t.same(responses.map((response) => response.statusCode), Array(50).fill(200))
  t.equal(new Set(responses.map((response) => (response.json() as { id: string }).id)).size, 1, 'every call answers the same profile')
  const rows = await db.selectFrom('user_profiles').selectAll().where('clerk_user_id', '=', 'user_2abcConcurrent').execute()
  t.equal(rows.length, 1, 'one row')

  // Users whose Clerk ids share a long prefix still get distinct handles.
  const similar = await Promise.all(['user_2abcdefghijklmn1', 'user_2abcdefghijklmn2', 'user_2abcdefghijklmn3'].map((id) =>
    app.inject({ url: '/v1/me', headers: authHeaders(id) })))
  const handles = similar.map((response) => (response.json() as { handle: string }).handle)
  t.equal(new Set(handles).size, 3)
  for (const handle of handles) t.notMatch(handle, /2abc/)
})
