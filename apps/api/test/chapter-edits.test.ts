import t from 'tap'
import { authHeaders } from './helpers/auth.js'
import { build, databaseEnv, inspectDatabase } from './helpers/build.js'
import { createStory, rowCounts } from './helpers/stories.js'

const PROBLEM_JSON = 'application/problem+json; charset=utf-8'

t.test('chapter edits and removals', async (t) => {
  const env = await databaseEnv(t, 'chapter_edits')
  const app = await build(t, env)
  const db = inspectDatabase(t, env.DATABASE_URL)
  const author = 'user_2editAuthor'
  const other = 'user_2editOther'
  const asAuthor = authHeaders(author)
  const chapters = (count: number) => Array.from({ length: count }, (_, index) => ({ title: `Chapter ${index + 1}`, content: `Text ${index + 1}` }))

  const chapterRows = (storyId: string) => db.selectFrom('chapters').selectAll().where('story_id', '=', storyId).orderBy('position').execute()
  const storyRow = (storyId: string) => db.selectFrom('stories').selectAll().where('id', '=', storyId).executeTakeFirstOrThrow()

  t.test('PATCH changes a chapter\'s title and/or content, trimmed, and its and its story\'s updated_at', async (t) => {
    const story = await createStory(app, author, { title: 'Editable', publish: true, chapters: chapters(2) })
    const [before] = await chapterRows(story.id)
    const storyBefore = await storyRow(story.id)
    const title = await app.inject({ method: 'PATCH', url: `/v1/stories/${story.id}/chapters/1`, headers: asAuthor, body: { title: '  New title  ' } })
    t.equal(title.statusCode, 200)
    t.match(title.json(), { id: before?.id, story_id: story.id, position: 1, title: 'New title', content: 'Text 1' })
    t.ok(new Date(title.json().updated_at as string) > (before?.updated_at as Date), 'the chapter\'s updated_at moves')
    t.ok((await storyRow(story.id)).updated_at > storyBefore.updated_at, 'and its story\'s')
    t.equal(title.headers.etag, (await app.inject(`/v1/stories/${story.id}/chapters/1`)).headers.etag, 'answered with the tag a GET sends')

    const content = await app.inject({ method: 'PATCH', url: `/v1/stories/${story.id}/chapters/1`, headers: asAuthor, body: { content: 'New text' } })
    t.match(content.json(), { title: 'New title', content: 'New text' })
    const both = await app.inject({ method: 'PATCH', url: `/v1/stories/${story.id}/chapters/2`, headers: asAuthor, body: { title: 'Both', content: 'Both text' } })
    t.match(both.json(), { position: 2, title: 'Both', content: 'Both text' })
    t.same((await chapterRows(story.id)).map((row) => [row.position, row.title, row.content]), [[1, 'New title', 'New text'], [2, 'Both', 'Both text']])
  })

  t.test('DELETE removes a chapter with 204 and moves the later ones up one position', async (t) => {
    const story = await createStory(app, author, { title: 'Shrinking', publish: true, chapters: chapters(5) })
    const ids = (await chapterRows(story.id)).map((row) => row.id)
    const response = await app.inject({ method: 'DELETE', url: `/v1/stories/${story.id}/chapters/2`, headers: asAuthor })
    t.equal(response.statusCode, 204)
    t.equal(response.body, '')
    t.same((await chapterRows(story.id)).map((row) => [row.position, row.id, row.title]), [
      [1, ids[0], 'Chapter 1'], [2, ids[2], 'Chapter 3'], [3, ids[3], 'Chapter 4'], [4, ids[4], 'Chapter 5']
    ])
    t.equal((await app.inject(`/v1/stories/${story.id}/chapters/2`)).json().title, 'Chapter 3')
    t.match((await app.inject(`/v1/stories/${story.id}/chapters/5`)).json(), { status: 404, code: 'chapter_not_found' })
    t.equal((await app.inject({ method: 'DELETE', url: `/v1/stories/${story.id}/chapters/4`, headers: asAuthor })).statusCode, 204, 'the last one')
    t.equal((await app.inject({ method: 'DELETE', url: `/v1/stories/${story.id}/chapters/1`, headers: asAuthor })).statusCode, 204, 'the first one')
    t.same((await chapterRows(story.id)).map((row) => [row.position, row.title]), [[1, 'Chapter 3'], [2, 'Chapter 4']])
    const appended = await app.inject({ method: 'POST', url: `/v1/stories/${story.id}/chapters`, headers: asAuthor, body: { title: 'Next', content: 'x' } })
    t.equal(appended.json().position, 3, 'an append goes after the last remaining chapter')
  })

  t.test('every refusal answers its status and code and changes nothing', async (t) => {
    const published = await createStory(app, author, { title: 'Guarded', publish: true, chapters: chapters(2) })
    const draft = await createStory(app, author, { title: 'Guarded draft', chapters: chapters(1) })
    const base = `/v1/stories/${published.id}/chapters`
    const tag = (await app.inject(`${base}/1`)).headers.etag as string
    const before = { counts: await rowCounts(db), published: await chapterRows(published.id), draft: await chapterRows(draft.id), story: await storyRow(published.id) }
    const cases: Array<[string, 'PATCH' | 'DELETE', string, Record<string, string>, object | undefined, number, string]> = [
      ['an empty patch', 'PATCH', `${base}/1`, asAuthor, {}, 400, 'validation_failed'],
      ['a title of spaces', 'PATCH', `${base}/1`, asAuthor, { title: '   ' }, 400, 'validation_failed'],
      ['empty content', 'PATCH', `${base}/1`, asAuthor, { content: '' }, 400, 'validation_failed'],
      ['a title over 200 characters', 'PATCH', `${base}/1`, asAuthor, { title: 'x'.repeat(201) }, 400, 'validation_failed'],
      ['an unknown field', 'PATCH', `${base}/1`, asAuthor, { title: 'ok', position: 2 }, 400, 'validation_failed'],
      ['a title that is not a string', 'PATCH', `${base}/1`, asAuthor, { title: 42 }, 400, 'validation_failed'],
      ['a NUL in the content', 'PATCH', `${base}/1`, asAuthor, { content: 'a\u0000b' }, 400, 'validation_failed'],
      ['position 0', 'DELETE', `${base}/0`, asAuthor, undefined, 400, 'validation_failed'],
      ['position 1 001', 'PATCH', `${base}/1001`, asAuthor, { title: 'x' }, 400, 'validation_failed'],
      ['a malformed story id', 'DELETE', '/v1/stories/nope/chapters/1', asAuthor, undefined, 400, 'validation_failed'],
      ['no token (PATCH)', 'PATCH', `${base}/1`, {}, { title: 'x' }, 401, 'unauthenticated'],
      ['no token (DELETE)', 'DELETE', `${base}/1`, {}, undefined, 401, 'unauthenticated'],
      ['someone else, published story (PATCH)', 'PATCH', `${base}/1`, authHeaders(other), { title: 'x' }, 403, 'forbidden'],
      ['someone else, published story (DELETE)', 'DELETE', `${base}/1`, authHeaders(other), undefined, 403, 'forbidden'],
      ['someone else, draft (PATCH)', 'PATCH', `/v1/stories/${draft.id}/chapters/1`, authHeaders(other), { title: 'x' }, 404, 'story_not_found'],
      ['someone else, draft (DELETE)', 'DELETE', `/v1/stories/${draft.id}/chapters/1`, authHeaders(other), undefined, 404, 'story_not_found'],
      ['someone else, unknown position of a published story', 'DELETE', `${base}/9`, authHeaders(other), undefined, 403, 'forbidden'],
      ['no such story', 'PATCH', '/v1/stories/00000000-0000-4000-8000-000000000000/chapters/1', asAuthor, { title: 'x' }, 404, 'story_not_found'],
      ['an unknown position (PATCH)', 'PATCH', `${base}/3`, asAuthor, { title: 'x' }, 404, 'chapter_not_found'],
      ['an unknown position (DELETE)', 'DELETE', `${base}/3`, asAuthor, undefined, 404, 'chapter_not_found'],
      ['a stale If-Match (PATCH)', 'PATCH', `${base}/1`, { ...asAuthor, 'if-match': '"stale"' }, { title: 'x' }, 412, 'precondition_failed'],
      ['a stale If-Match (DELETE)', 'DELETE', `${base}/1`, { ...asAuthor, 'if-match': '"stale"' }, undefined, 412, 'precondition_failed'],
      ['the tag of chapter 1 on chapter 2', 'DELETE', `${base}/2`, { ...asAuthor, 'if-match': tag }, undefined, 412, 'precondition_failed']
    ]
    for (const [name, method, url, headers, body, status, code] of cases) {
      const response = await app.inject({ method, url, headers, ...(body === undefined ? {} : { body }) })
      t.equal(response.statusCode, status, name)
      t.equal(response.headers['content-type'], PROBLEM_JSON, name)
      t.equal(response.json().code, code, name)
    }
    t.same({ counts: await rowCounts(db), published: await chapterRows(published.id), draft: await chapterRows(draft.id), story: await storyRow(published.id) }, before, 'no row changed')

    const current = await app.inject({ method: 'PATCH', url: `${base}/1`, headers: { ...asAuthor, 'if-match': tag }, body: { title: 'With the tag' } })
    t.equal(current.statusCode, 200, 'the current tag lets an edit through')
    t.equal((await app.inject({ method: 'DELETE', url: `${base}/1`, headers: { ...asAuthor, 'if-match': current.headers.etag as string } })).statusCode, 204, 'and a removal')
  })

  t.test('20 concurrent deletes and appends leave positions 1…n with no gap and no duplicate', async (t) => {
    const story = await createStory(app, author, { title: 'Churn', publish: true, chapters: chapters(20) })
    const url = `/v1/stories/${story.id}/chapters`
    // At most 10 deletes run before any append, so positions 1…10 always exist when one runs.
    const requests = Array.from({ length: 20 }, (_, index) => index % 2 === 0
      ? app.inject({ method: 'DELETE', url: `${url}/${index / 2 + 1}`, headers: asAuthor })
      : app.inject({ method: 'POST', url, headers: asAuthor, body: { title: `Appended ${index}`, content: 'x' } }))
    const statuses = (await Promise.all(requests)).map((response) => response.statusCode)
    t.same(statuses.filter((status) => status === 204).length, 10, 'ten removed')
    t.same(statuses.filter((status) => status === 201).length, 10, 'ten appended')
    const rows = await chapterRows(story.id)
    t.same(rows.map((row) => row.position), Array.from({ length: 20 }, (_, index) => index + 1), 'positions 1…20, no gap, no duplicate')
    t.equal(rows.filter((row) => row.title.startsWith('Appended')).length, 10, 'every append is there')
    const page = await app.inject(`${url}?limit=100`)
    t.same(page.json().items.map((item: { position: number }) => item.position), rows.map((row) => row.position), 'the table of contents agrees')
  })
})
