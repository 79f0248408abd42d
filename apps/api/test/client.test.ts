import type { AddressInfo } from 'node:net'
import { createClient, type MuejamClient } from '@muejam/client'
import t from 'tap'
import { signToken } from './helpers/auth.js'
import { build, databaseEnv, inspectDatabase } from './helpers/build.js'
import { claimRedisDatabase } from './helpers/redis.js'
import { rowCounts } from './helpers/stories.js'

/*
 * The typed client (@muejam/client) against the API on a real socket, over PostgreSQL and
 * Redis: the story routes as a front end calls them, so the client and its types are proven
 * against the server they were generated from.
 */

const AUTHOR = 'user_2clientAuthor'
const STRANGER = 'user_2clientStranger'
const PROBLEM_JSON = 'application/problem+json; charset=utf-8'

t.test('the typed client drives the story routes', async (t) => {
  const env = await databaseEnv(t, 'client')
  const redis = await claimRedisDatabase(t, 'api-client')
  const app = await build(t, { ...env, REDIS_URL: redis.url })
  await app.listen({ host: '127.0.0.1', port: 0 })
  const baseUrl = `http://127.0.0.1:${(app.server.address() as AddressInfo).port}`
  const db = inspectDatabase(t, env.DATABASE_URL)

  const author: MuejamClient = createClient({ baseUrl, token: () => signToken(AUTHOR) })
  const stranger = createClient({ baseUrl, token: signToken(STRANGER) })
  const anonymous = createClient({ baseUrl })

  const created = await author.POST('/v1/stories', {
    body: { title: 'Client side', description: 'Written through @muejam/client.', chapters: [{ title: 'One', content: 'It began.' }] }
  })
  t.equal(created.response.status, 201)
  if (created.data === undefined) throw new Error(`create failed: ${JSON.stringify(created.error)}`)
  const story = created.data
  const id = story.id
  t.match(story, { title: 'Client side', status: 'draft', published_at: null })
  t.same(story.chapters.map((chapter) => [chapter.position, chapter.title]), [[1, 'One']])
  t.match(created.response.headers.get('location'), new RegExp(`/v1/stories/${id}$`), 'the 201 says where the story is')

  t.test('reads the draft as its author, with its ETag; anyone else gets the problem', async (t) => {
    const read = await author.GET('/v1/stories/{id}', { params: { path: { id } } })
    t.equal(read.response.status, 200)
    t.equal(read.data?.title, 'Client side')
    const etag = read.response.headers.get('etag')
    t.match(etag, /^"[^"]+"$/, 'a strong entity tag')

    const unchanged = await author.GET('/v1/stories/{id}', { params: { path: { id }, header: { 'if-none-match': etag as string } } })
    t.equal(unchanged.response.status, 304, 'If-None-Match with the current tag answers 304')

    for (const client of [anonymous, stranger]) {
      const hidden = await client.GET('/v1/stories/{id}', { params: { path: { id } } })
      t.equal(hidden.response.status, 404)
      t.equal(hidden.response.headers.get('content-type'), PROBLEM_JSON)
      t.equal(hidden.error?.code, 'story_not_found', 'the error is typed as a Problem')
    }
  })

  t.test('patches the story only while the caller\'s tag is current', async (t) => {
    const read = await author.GET('/v1/stories/{id}', { params: { path: { id } } })
    const etag = read.response.headers.get('etag') as string
    const published = await author.PATCH('/v1/stories/{id}', { params: { path: { id }, header: { 'if-match': etag } }, body: { publish: true } })
    t.equal(published.response.status, 200)
    t.equal(published.data?.status, 'published')
    t.not(published.response.headers.get('etag'), etag, 'the change makes a new tag')

    const before = await rowCounts(db)
    const stale = await author.PATCH('/v1/stories/{id}', { params: { path: { id }, header: { 'if-match': etag } }, body: { title: 'Overwritten' } })
    t.equal(stale.response.status, 412)
    t.equal(stale.error?.code, 'precondition_failed')
    t.same(await rowCounts(db), before)
    t.equal((await anonymous.GET('/v1/stories/{id}', { params: { path: { id } } })).data?.title, 'Client side', 'the stale write changed nothing')

    const forbidden = await stranger.PATCH('/v1/stories/{id}', { params: { path: { id } }, body: { title: 'Mine now' } })
    t.equal(forbidden.response.status, 403)
    t.equal(forbidden.error?.code, 'forbidden')
  })

  t.test('lists the published story in the feed and the author\'s own stories', async (t) => {
    const feed = await anonymous.GET('/v1/stories', { params: { query: { limit: 100 } } })
    t.equal(feed.response.status, 200)
    t.ok(feed.data?.items.some((item) => item.id === id), 'in the feed')
    const own = await author.GET('/v1/me/stories', { params: { query: { limit: 10 } } })
    t.equal(own.response.status, 200)
    t.same(own.data?.items.map((item) => item.id), [id])
    const nobody = await stranger.GET('/v1/me/stories')
    t.same(nobody.data?.items, [], 'nobody else\'s stories')
    const signedOut = await anonymous.GET('/v1/me/stories')
    t.equal(signedOut.response.status, 401)
    t.equal(signedOut.error?.code, 'unauthenticated')
  })

  t.test('appends, reads, changes and removes chapters', async (t) => {
    const second = await author.POST('/v1/stories/{id}/chapters', { params: { path: { id } }, body: { title: 'Two', content: 'It went on.' } })
    t.equal(second.response.status, 201)
    t.equal(second.data?.position, 2)
    t.match(second.response.headers.get('location'), new RegExp(`/v1/stories/${id}/chapters/2$`))
    await author.POST('/v1/stories/{id}/chapters', { params: { path: { id } }, body: { title: 'Three', content: 'It ended.' } })

    const contents = await anonymous.GET('/v1/stories/{id}/chapters', { params: { path: { id }, query: { limit: 2 } } })
    t.same(contents.data?.items.map((entry) => entry.title), ['One', 'Two'])
    t.type(contents.data?.next_cursor, 'string', 'a second page follows')
    const rest = await anonymous.GET('/v1/stories/{id}/chapters', { params: { path: { id }, query: { cursor: contents.data?.next_cursor as string } } })
    t.same(rest.data?.items.map((entry) => entry.title), ['Three'])

    const chapter = await anonymous.GET('/v1/stories/{id}/chapters/{position}', { params: { path: { id, position: 2 } } })
    t.equal(chapter.data?.content, 'It went on.')
    const changed = await author.PATCH('/v1/stories/{id}/chapters/{position}', { params: { path: { id, position: 2 } }, body: { content: 'It went on and on.' } })
    t.equal(changed.response.status, 200)
    t.match(changed.data, { position: 2, title: 'Two', content: 'It went on and on.' })

    const removed = await author.DELETE('/v1/stories/{id}/chapters/{position}', { params: { path: { id, position: 1 } } })
    t.equal(removed.response.status, 204)
    const after = await anonymous.GET('/v1/stories/{id}/chapters', { params: { path: { id } } })
    t.same(after.data?.items.map((entry) => [entry.position, entry.title]), [[1, 'Two'], [2, 'Three']], 'the later chapters moved up')

    const missing = await anonymous.GET('/v1/stories/{id}/chapters/{position}', { params: { path: { id, position: 3 } } })
    t.equal(missing.response.status, 404)
    t.equal(missing.error?.code, 'chapter_not_found')
  })

  t.test('refuses bad input with a typed problem and writes nothing', async (t) => {
    const before = await rowCounts(db)
    const blank = await author.POST('/v1/stories', { body: { title: '   ' } })
    t.equal(blank.response.status, 400)
    t.equal(blank.error?.code, 'validation_failed')
    t.match(blank.error?.errors, [{ field: 'body.title' }])
    const badId = await author.GET('/v1/stories/{id}', { params: { path: { id: 'not-a-uuid' } } })
    t.equal(badId.response.status, 400)
    t.equal(badId.error?.code, 'validation_failed')
    const signedOut = await anonymous.POST('/v1/stories', { body: { title: 'Anonymous' } })
    t.equal(signedOut.response.status, 401)
    t.equal(signedOut.error?.code, 'unauthenticated')
    t.same(await rowCounts(db), before)
  })

  t.test('deletes the story', async (t) => {
    const deleted = await author.DELETE('/v1/stories/{id}', { params: { path: { id } } })
    t.equal(deleted.response.status, 204)
    const gone = await author.GET('/v1/stories/{id}', { params: { path: { id } } })
    t.equal(gone.response.status, 404)
    t.equal(gone.error?.code, 'story_not_found')
  })

  t.test('the types follow the document', async (t) => {
    // Each line fails to type-check (pnpm run typecheck:tests) if the client lets it through.
    // @ts-expect-error: no such route
    const unknownRoute = () => anonymous.GET('/v1/nothing')
    // @ts-expect-error: a story needs a title
    const untitled = () => author.POST('/v1/stories', { body: {} })
    // @ts-expect-error: the path parameter is required
    const withoutId = () => author.GET('/v1/stories/{id}', {})
    t.ok([unknownRoute, untitled, withoutId].every((call) => typeof call === 'function'))
  })
})
