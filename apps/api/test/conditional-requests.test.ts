import { setTimeout as sleep } from 'node:timers/promises'
import type { LightMyRequestResponse } from 'fastify'
import t, { type Test } from 'tap'
import { authHeaders } from './helpers/auth.js'
import { build, databaseEnv, inspectDatabase } from './helpers/build.js'
import { watchActivity } from './helpers/pg-activity.js'
import { createStory, rowCounts } from './helpers/stories.js'

const PUBLIC_URL = 'https://api.muejam.test'
const PROBLEM_JSON = 'application/problem+json; charset=utf-8'
const STRONG_TAG = /^"[A-Za-z0-9_-]{43}"$/

function assertPreconditionFailed (t: Test, response: LightMyRequestResponse, message: string): void {
  t.equal(response.statusCode, 412, message)
  t.equal(response.headers['content-type'], PROBLEM_JSON)
  t.match(response.json(), { status: 412, code: 'precondition_failed' })
}

t.test('conditional requests', async (t) => {
  const env = await databaseEnv(t, 'conditional')
  const app = await build(t, { ...env, PUBLIC_URL })
  const db = inspectDatabase(t, env.DATABASE_URL)
  const author = 'user_2condAuthor'
  const other = 'user_2condOther'
  const asAuthor = authHeaders(author)

  const storyRow = (id: string) => db.selectFrom('stories').selectAll().where('id', '=', id).executeTakeFirstOrThrow()

  t.test('a story read sends a strong ETag and answers a matching If-None-Match with 304, a changed story with 200', async (t) => {
    const story = await createStory(app, author, { title: 'Tagged', publish: true })
    const url = `/v1/stories/${story.id}`
    const first = await app.inject(url)
    t.equal(first.statusCode, 200)
    const tag = first.headers.etag as string
    t.match(tag, STRONG_TAG)
    t.equal((await app.inject(url)).headers.etag, tag, 'the same story, the same tag')
    t.equal((await app.inject({ url, headers: asAuthor })).headers.etag, tag, 'whoever reads it')

    for (const [name, value] of [['the tag', tag], ['the tag as weak (weak comparison)', `W/${tag}`], ['a list holding it', `"other", ${tag}`], ['*', '*']]) {
      const response = await app.inject({ url, headers: { 'if-none-match': value } })
      t.equal(response.statusCode, 304, `If-None-Match: ${name}`)
      t.equal(response.body, '', 'no body')
      t.equal(response.headers.etag, tag, 'the current tag')
      t.notOk(response.headers['content-length'] !== undefined && response.headers['content-length'] !== '0', 'no content length of a body')
    }
    const head = await app.inject({ method: 'HEAD', url, headers: { 'if-none-match': tag } })
    t.equal(head.statusCode, 304, 'HEAD too')
    for (const [name, value] of [['another tag', '"other"'], ['a malformed value (ignored)', tag.slice(1, -1)], ['an empty value (ignored)', '']]) {
      const response = await app.inject({ url, headers: { 'if-none-match': value } })
      t.equal(response.statusCode, 200, `If-None-Match: ${name}`)
      t.equal(response.json().id, story.id)
    }

    const patched = await app.inject({ method: 'PATCH', url, headers: asAuthor, body: { title: 'Retitled' } })
    t.equal(patched.statusCode, 200)
    const newTag = patched.headers.etag as string
    t.match(newTag, STRONG_TAG)
    t.not(newTag, tag, 'a change gives a new tag')
    const after = await app.inject({ url, headers: { 'if-none-match': tag } })
    t.equal(after.statusCode, 200, 'the old tag no longer matches: the new story comes in full')
    t.equal(after.json().title, 'Retitled')
    t.equal(after.headers.etag, newTag, 'the PATCH answered with the tag a GET sends')
    t.equal((await app.inject({ url, headers: { 'if-none-match': newTag } })).statusCode, 304)
  })

  t.test('a chapter and a table of contents are tagged too; an append changes the table\'s tag', async (t) => {
    const story = await createStory(app, author, { title: 'Chaptered', publish: true, chapters: [{ title: 'One', content: 'First.' }, { title: 'Two', content: 'Second.' }] })
    const chapterUrl = `/v1/stories/${story.id}/chapters/1`
    const chapter = await app.inject(chapterUrl)
    t.match(chapter.headers.etag, STRONG_TAG)
    t.equal((await app.inject({ url: chapterUrl, headers: { 'if-none-match': chapter.headers.etag as string } })).statusCode, 304)

    const tocUrl = `/v1/stories/${story.id}/chapters`
    const toc = await app.inject(tocUrl)
    const tocTag = toc.headers.etag as string
    t.match(tocTag, STRONG_TAG)
    t.not(tocTag, chapter.headers.etag)
    t.equal((await app.inject({ url: tocUrl, headers: { 'if-none-match': tocTag } })).statusCode, 304)
    t.equal((await app.inject({ url: `${tocUrl}?limit=1`, headers: { 'if-none-match': tocTag } })).statusCode, 200, 'another page is another representation')

    const appended = await app.inject({ method: 'POST', url: tocUrl, headers: asAuthor, body: { title: 'Three', content: 'Third.' } })
    t.equal(appended.statusCode, 201)
    t.equal((await app.inject({ url: tocUrl, headers: { 'if-none-match': tocTag } })).statusCode, 200, 'the table changed')
    t.equal((await app.inject({ url: chapterUrl, headers: { 'if-none-match': chapter.headers.etag as string } })).statusCode, 304, 'chapter 1 did not')
  })

  t.test('every 201 carries Location, an absolute URL on PUBLIC_URL, and the ETag a GET of it answers', async (t) => {
    const created = await app.inject({ method: 'POST', url: '/v1/stories', headers: asAuthor, body: { title: 'Located', chapters: [{ title: 'One', content: 'x' }] } })
    t.equal(created.statusCode, 201)
    const story = created.json()
    t.equal(created.headers.location, `${PUBLIC_URL}/v1/stories/${story.id}`)
    const read = await app.inject({ url: new URL(created.headers.location as string).pathname, headers: asAuthor })
    t.equal(read.statusCode, 200)
    t.equal(read.headers.etag, created.headers.etag, 'the created story\'s tag')

    const appended = await app.inject({ method: 'POST', url: `/v1/stories/${story.id}/chapters`, headers: asAuthor, body: { title: 'Two', content: 'y' } })
    t.equal(appended.statusCode, 201)
    t.equal(appended.headers.location, `${PUBLIC_URL}/v1/stories/${story.id}/chapters/2`)
    const chapter = await app.inject({ url: new URL(appended.headers.location as string).pathname, headers: asAuthor })
    t.equal(chapter.json().title, 'Two')
    t.equal(chapter.headers.etag, appended.headers.etag)
  })

  t.test('PATCH and DELETE with a stale If-Match get 412 precondition_failed and change nothing; the current tag or * proceeds', async (t) => {
    const story = await createStory(app, author, { title: 'Guarded', publish: true })
    const url = `/v1/stories/${story.id}`
    const stale = (await app.inject(url)).headers.etag as string
    const patched = await app.inject({ method: 'PATCH', url, headers: { ...asAuthor, 'if-match': stale }, body: { title: 'First edit' } })
    t.equal(patched.statusCode, 200, 'the current tag lets the edit through')
    const current = patched.headers.etag as string

    const row = await storyRow(story.id)
    const counts = await rowCounts(db)
    const refusals: Array<[string, string, Record<string, string>, object?]> = [
      ['PATCH with the stale tag', 'PATCH', { 'if-match': stale }, { title: 'Lost update' }],
      ['PATCH with the current tag as weak (strong comparison)', 'PATCH', { 'if-match': `W/${current}` }, { title: 'Weak' }],
      ['PATCH with the tag unquoted (malformed: matches nothing)', 'PATCH', { 'if-match': current.slice(1, -1) }, { title: 'Unquoted' }],
      ['PATCH with an empty If-Match', 'PATCH', { 'if-match': '' }, { title: 'Empty' }],
      ['PATCH with If-None-Match: *', 'PATCH', { 'if-none-match': '*' }, { title: 'Create only' }],
      ['PATCH with If-None-Match of the current tag', 'PATCH', { 'if-none-match': current }, { title: 'Not this one' }],
      ['PATCH with a malformed If-None-Match', 'PATCH', { 'if-none-match': 'nonsense' }, { title: 'Unreadable' }],
      ['DELETE with the stale tag', 'DELETE', { 'if-match': stale }],
      ['DELETE with a malformed If-Match', 'DELETE', { 'if-match': 'W/' }]
    ]
    for (const [name, method, headers, body] of refusals) {
      const response = await app.inject({ method: method as 'PATCH' | 'DELETE', url, headers: { ...asAuthor, ...headers }, ...(body === undefined ? {} : { body }) })
      assertPreconditionFailed(t, response, name)
    }
    t.same(await storyRow(story.id), row, 'the story row is unchanged')
    t.same(await rowCounts(db), counts, 'nothing written')
    t.equal((await app.inject(url)).headers.etag, current, 'its tag too')

    const starred = await app.inject({ method: 'PATCH', url, headers: { ...asAuthor, 'if-match': '*' }, body: { title: 'Starred' } })
    t.equal(starred.statusCode, 200, 'If-Match: * holds for a story that exists')
    const listed = await app.inject({ method: 'PATCH', url, headers: { ...asAuthor, 'if-match': `"x", ${starred.headers.etag as string}` }, body: { description: 'Listed' } })
    t.equal(listed.statusCode, 200, 'a list holding the current tag holds')
    const deleted = await app.inject({ method: 'DELETE', url, headers: { ...asAuthor, 'if-match': listed.headers.etag as string } })
    t.equal(deleted.statusCode, 204)
    t.not((await storyRow(story.id)).deleted_at, null)
  })

  t.test('a refusal that does not depend on the tag comes first: 404, 403, 400 are answered before 412', async (t) => {
    const story = await createStory(app, author, { title: 'Ordered', publish: true })
    const draft = await createStory(app, author, { title: 'Hidden draft' })
    const stale = { 'if-match': '"stale"' }
    const missing = await app.inject({ method: 'PATCH', url: '/v1/stories/00000000-0000-4000-8000-000000000000', headers: { ...asAuthor, ...stale }, body: { title: 'x' } })
    t.match(missing.json(), { status: 404, code: 'story_not_found' })
    const foreign = await app.inject({ method: 'PATCH', url: `/v1/stories/${story.id}`, headers: { ...authHeaders(other), ...stale }, body: { title: 'x' } })
    t.match(foreign.json(), { status: 403, code: 'forbidden' })
    const foreignDraft = await app.inject({ method: 'DELETE', url: `/v1/stories/${draft.id}`, headers: { ...authHeaders(other), ...stale } })
    t.match(foreignDraft.json(), { status: 404, code: 'story_not_found' })
    const invalid = await app.inject({ method: 'PATCH', url: `/v1/stories/${story.id}`, headers: { ...asAuthor, ...stale }, body: {} })
    t.match(invalid.json(), { status: 400, code: 'validation_failed' })
    const anonymous = await app.inject({ method: 'PATCH', url: `/v1/stories/${story.id}`, headers: stale, body: { title: 'x' } })
    t.match(anonymous.json(), { status: 401, code: 'unauthenticated' })
    const unreadable = await app.inject({ url: `/v1/stories/${draft.id}`, headers: { 'if-none-match': '*' } })
    t.match(unreadable.json(), { status: 404, code: 'story_not_found' }, 'a draft is no more visible through If-None-Match: *')
    t.equal((await storyRow(story.id)).title, 'Ordered')
  })

  t.test('a stale If-Match fails a read too (412), before If-None-Match', async (t) => {
    const story = await createStory(app, author, { title: 'Read guard', publish: true })
    const url = `/v1/stories/${story.id}`
    const tag = (await app.inject(url)).headers.etag as string
    assertPreconditionFailed(t, await app.inject({ url, headers: { 'if-match': '"stale"', 'if-none-match': tag } }), 'GET with a stale If-Match')
    t.equal((await app.inject({ url, headers: { 'if-match': tag } })).statusCode, 200)
  })

  t.test('ten concurrent PATCHes carrying the same tag: exactly one 200, nine 412', async (t) => {
    const story = await createStory(app, author, { title: 'Contested', publish: true })
    const url = `/v1/stories/${story.id}`
    const tag = (await app.inject(url)).headers.etag as string
    const responses = await Promise.all(Array.from({ length: 10 }, (_, editor) =>
      app.inject({ method: 'PATCH', url, headers: { ...asAuthor, 'if-match': tag }, body: { title: `Editor ${editor}` } })))
    const statuses = responses.map((response) => response.statusCode).sort()
    t.same(statuses, [200, ...Array(9).fill(412)])
    const winner = responses.find((response) => response.statusCode === 200)?.json() as { title: string }
    t.equal((await storyRow(story.id)).title, winner.title, 'the story holds the one accepted edit')
  })

  t.test('two editors reading the same row while a third holds its lock: when it is released, one gets 200, the other 412', async (t) => {
    const story = await createStory(app, author, { title: 'Locked', publish: true })
    const url = `/v1/stories/${story.id}`
    const tag = (await app.inject(url)).headers.etag as string
    const activity = await watchActivity(t, env.DATABASE_URL)
    await activity.client.query('begin')
    await activity.client.query('select id from stories where id = $1 for update', [story.id])
    const editors = [0, 1].map((editor) => app.inject({ method: 'PATCH', url, headers: { ...asAuthor, 'if-match': tag }, body: { title: `Editor ${editor}` } }))
    let waiting = 0
    for (let attempt = 0; attempt < 200 && waiting < 2; attempt++) {
      waiting = (await activity.apiBackends()).filter((backend) => backend.wait_event_type === 'Lock').length
      if (waiting < 2) await sleep(10)
    }
    t.equal(waiting, 2, 'both editors wait on the row lock, having checked nothing yet')
    await activity.client.query('commit')
    const statuses = (await Promise.all(editors)).map((response) => response.statusCode).sort()
    t.same(statuses, [200, 412])
  })
})

t.test('a browser on an allowed origin may send If-Match and If-None-Match and read ETag and Location', async (t) => {
  const origin = 'https://app.muejam.test'
  const app = await build(t, { ...await databaseEnv(t, 'conditional_cors'), CORS_ORIGINS: origin })
  const preflight = await app.inject({
    method: 'OPTIONS',
    url: '/v1/stories/00000000-0000-4000-8000-000000000000',
    headers: { origin, 'access-control-request-method': 'PATCH', 'access-control-request-headers': 'authorization,if-match' }
  })
  t.equal(preflight.statusCode, 204)
  t.match(preflight.headers['access-control-allow-headers'], /\bif-match\b.*\bif-none-match\b/)
  const read = await app.inject({ url: '/v1/stories', headers: { origin } })
  t.match(read.headers['access-control-expose-headers'], /\betag\b.*\blocation\b/)
})
