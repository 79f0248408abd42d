import { sql, type Kysely } from 'kysely'
import t from 'tap'
import type { Database } from '../src/db/database.js'
import { authHeaders } from './helpers/auth.js'
import { build, databaseEnv, inspectDatabase } from './helpers/build.js'
import { createStory, rowCounts } from './helpers/stories.js'

interface ChapterEntry {
  id: string
  position: number
  title: string
  created_at: string
  updated_at: string
}

interface ChapterPage {
  items: ChapterEntry[]
  next_cursor: string | null
}

interface Problem {
  code: string
  errors?: Array<{ field: string, message: string }>
}

const PROBLEM_JSON = 'application/problem+json; charset=utf-8'

/** Adds chapters `from`…`to` to a story in one statement, as if appended one by one. */
async function insertChapters (db: Kysely<Database>, storyId: string, from: number, to: number): Promise<void> {
  await sql`insert into chapters (story_id, position, title, content)
    select ${storyId}::uuid, n, 'Chapter ' || n, 'Text of chapter ' || n from generate_series(${from}::int, ${to}::int) as n`.execute(db)
}

async function chapterCount (db: Kysely<Database>, storyId: string): Promise<number> {
  const row = await db.selectFrom('chapters').select((eb) => eb.fn.countAll<string>().as('n')).where('story_id', '=', storyId).executeTakeFirstOrThrow()
  return Number(row.n)
}

t.test('chapters', async (t) => {
  const env = await databaseEnv(t, 'chapters')
  const app = await build(t, env)
  const db = inspectDatabase(t, env.DATABASE_URL)
  const author = 'user_2abcChapterAuthor'

  /** Every page of a story's table of contents, following next_cursor. */
  async function allPages (storyId: string, query: string): Promise<ChapterPage[]> {
    const pages: ChapterPage[] = []
    let cursor: string | null = null
    do {
      const response = await app.inject(`/v1/stories/${storyId}/chapters?${query}${cursor === null ? '' : `&cursor=${cursor}`}`)
      t.equal(response.statusCode, 200)
      const page = response.json() as ChapterPage
      pages.push(page)
      cursor = page.next_cursor
    } while (cursor !== null && pages.length < 10)
    return pages
  }

  t.test('GET /v1/stories/:id/chapters pages the table of contents in position order, without content', async (t) => {
    const story = await createStory(app, author, { title: 'Long', publish: true })
    await insertChapters(db, story.id, 1, 120)

    const pages = await allPages(story.id, '')
    t.same(pages.map((page) => page.items.length), [50, 50, 20], 'limit defaults to 50')
    t.equal(pages[2]?.next_cursor, null, 'the last page has no next_cursor')
    t.ok(pages.slice(0, 2).every((page) => typeof page.next_cursor === 'string'), 'the others have one')
    t.same(pages.flatMap((page) => page.items.map((item) => item.position)), Array.from({ length: 120 }, (_, n) => n + 1), 'every chapter once, in order')
    const first = pages[0]?.items[0] as ChapterEntry
    t.same(Object.keys(first).sort(), ['created_at', 'id', 'position', 'title', 'updated_at'], 'id, position, title and timestamps; no content')
    t.match(first, { position: 1, title: 'Chapter 1' })

    t.same((await allPages(story.id, 'limit=100')).map((page) => page.items.length), [100, 20])
    t.same((await allPages(story.id, 'limit=1')).length, 10, 'limit=1 pages one chapter at a time')
    const exact = await createStory(app, author, { title: 'Exactly one page', publish: true })
    await insertChapters(db, exact.id, 1, 50)
    t.same((await allPages(exact.id, '')).map((page) => [page.items.length, page.next_cursor]), [[50, null]], 'a full last page has no next_cursor')
    const empty = await createStory(app, author, { title: 'No chapters yet', publish: true })
    t.same((await allPages(empty.id, '')).map((page) => page.items.length), [0])

    const short = await createStory(app, author, { title: 'Growing', publish: true, chapters: [{ title: 'One', content: 'a' }, { title: 'Two', content: 'b' }, { title: 'Three', content: 'c' }] })
    const head = (await app.inject(`/v1/stories/${short.id}/chapters?limit=2`)).json() as ChapterPage
    const appended = await app.inject({ method: 'POST', url: `/v1/stories/${short.id}/chapters`, headers: authHeaders(author), body: { title: 'Four', content: 'd' } })
    t.equal(appended.statusCode, 201)
    const tail = (await app.inject(`/v1/stories/${short.id}/chapters?limit=2&cursor=${head.next_cursor ?? ''}`)).json() as ChapterPage
    t.same([...head.items, ...tail.items].map((item) => item.title), ['One', 'Two', 'Three', 'Four'], 'a chapter appended while paging comes at the end')
    t.equal(tail.next_cursor, null)
  })

  t.test('a bad limit or cursor is a 400 with its code, and changes nothing', async (t) => {
    const story = await createStory(app, author, { title: 'Paged', publish: true })
    const other = await createStory(app, author, { title: 'Other', publish: true })
    await insertChapters(db, story.id, 1, 3)
    await insertChapters(db, other.id, 1, 3)
    const cursor = ((await app.inject(`/v1/stories/${story.id}/chapters?limit=1`)).json() as ChapterPage).next_cursor as string
    const otherCursor = ((await app.inject(`/v1/stories/${other.id}/chapters?limit=1`)).json() as ChapterPage).next_cursor as string
    await Promise.all(Array.from({ length: 2 }, (_, n) => createStory(app, author, { title: `Feed ${n}`, publish: true })))
    const feedCursor = ((await app.inject('/v1/stories?limit=1')).json() as { next_cursor: string }).next_cursor
    const [payload = '', signature = ''] = cursor.split('.')
    const tampered = `${payload}.${signature.startsWith('A') ? 'B' : 'A'}${signature.slice(1)}`
    const before = await rowCounts(db)

    const url = `/v1/stories/${story.id}/chapters`
    const cases: Array<[string, string, number, string, string]> = [
      ['limit=0', `${url}?limit=0`, 400, 'validation_failed', 'querystring.limit'],
      ['limit=101', `${url}?limit=101`, 400, 'validation_failed', 'querystring.limit'],
      ['limit=abc', `${url}?limit=abc`, 400, 'validation_failed', 'querystring.limit'],
      ['limit=2.5', `${url}?limit=2.5`, 400, 'validation_failed', 'querystring.limit'],
      ['a cursor that is not a cursor', `${url}?cursor=hello`, 400, 'validation_failed', 'querystring.cursor'],
      ['an unknown query parameter', `${url}?sort=title`, 400, 'validation_failed', 'querystring.sort'],
      ['a tampered cursor', `${url}?cursor=${tampered}`, 400, 'invalid_cursor', 'querystring.cursor'],
      ['a feed cursor', `${url}?cursor=${feedCursor}`, 400, 'invalid_cursor', 'querystring.cursor'],
      ['another story\'s cursor', `${url}?cursor=${otherCursor}`, 400, 'invalid_cursor', 'querystring.cursor'],
      ['a chapter cursor on the feed', `/v1/stories?cursor=${cursor}`, 400, 'invalid_cursor', 'querystring.cursor']
    ]
    for (const [name, path, status, code, field] of cases) {
      const response = await app.inject(path)
      const problem = response.json() as Problem
      t.equal(response.statusCode, status, `${name}: ${status}`)
      t.equal(problem.code, code, `${name}: ${code}`)
      t.equal(response.headers['content-type'], PROBLEM_JSON)
      t.ok(problem.errors?.some((error) => error.field === field), `${name}: names ${field}`)
    }
    t.same(await rowCounts(db), before, 'nothing was written')
    const next = (await app.inject(`${url}?limit=1&cursor=${cursor}`)).json() as ChapterPage
    t.same(next.items.map((item) => item.position), [2], 'the genuine cursor still works')
  })

  t.test('GET /v1/stories/:id/chapters/:position: one chapter with its content, as visible as its story', async (t) => {
    const published = await createStory(app, author, { title: 'Open', publish: true, chapters: [{ title: 'One', content: 'First text.' }, { title: 'Two', content: 'Second text.' }] })
    const draft = await createStory(app, author, { title: 'Closed', chapters: [{ title: 'Secret', content: 'Hidden text.' }] })

    const found = await app.inject(`/v1/stories/${published.id}/chapters/2`)
    t.equal(found.statusCode, 200)
    const chapter = found.json() as ChapterEntry & { story_id: string, content: string }
    t.same(chapter, { ...published.chapters?.[1], story_id: published.id }, 'the chapter as it was created')
    t.match(chapter, { position: 2, title: 'Two', content: 'Second text.' })

    const own = await app.inject({ url: `/v1/stories/${draft.id}/chapters/1`, headers: authHeaders(author) })
    t.equal(own.statusCode, 200, 'the author reads a draft\'s chapter')
    t.equal((own.json() as { content: string }).content, 'Hidden text.')
    const ownList = await app.inject({ url: `/v1/stories/${draft.id}/chapters`, headers: authHeaders(author) })
    t.same((ownList.json() as ChapterPage).items.map((item) => item.title), ['Secret'], 'and its table of contents')
    for (const headers of [{}, authHeaders('user_2abcChapterReader')]) {
      for (const path of [`/v1/stories/${draft.id}/chapters/1`, `/v1/stories/${draft.id}/chapters`]) {
        const hidden = await app.inject({ url: path, headers })
        t.equal(hidden.statusCode, 404, `${path} is hidden from others`)
        t.equal((hidden.json() as Problem).code, 'story_not_found', 'as if there were no such story')
        t.notMatch(hidden.body, /Hidden text|Secret/)
      }
    }

    const missing = await app.inject(`/v1/stories/${published.id}/chapters/3`)
    t.equal(missing.statusCode, 404, 'a position past the last chapter')
    t.equal((missing.json() as Problem).code, 'chapter_not_found')
    t.equal(missing.headers['content-type'], PROBLEM_JSON)
    const unknown = await app.inject('/v1/stories/6a0b5cf2-0000-4000-8000-000000000000/chapters/1')
    t.equal(unknown.statusCode, 404)
    t.equal((unknown.json() as Problem).code, 'story_not_found')

    const gone = await createStory(app, author, { title: 'Gone', publish: true, chapters: [{ title: 'One', content: 'a' }] })
    t.equal((await app.inject({ method: 'DELETE', url: `/v1/stories/${gone.id}`, headers: authHeaders(author) })).statusCode, 204)
    const deleted = await app.inject({ url: `/v1/stories/${gone.id}/chapters/1`, headers: authHeaders(author) })
    t.equal(deleted.statusCode, 404, 'a deleted story\'s chapter is gone, even for the author')
    t.equal((deleted.json() as Problem).code, 'story_not_found')

    const before = await rowCounts(db)
    for (const position of ['0', '-1', '1001', '1.5', 'abc', '99999999999']) {
      const response = await app.inject(`/v1/stories/${published.id}/chapters/${position}`)
      const problem = response.json() as Problem
      t.equal(response.statusCode, 400, `position ${position}: 400`)
      t.equal(problem.code, 'validation_failed')
      t.ok(problem.errors?.some((error) => error.field === 'params.position'), `position ${position}: names params.position`)
    }
    t.same(await rowCounts(db), before, 'nothing was written')
  })

  t.test('a story holds at most 1,000 chapters: the next append is a 409 chapter_limit_reached and writes nothing', async (t) => {
    const story = await createStory(app, author, { title: 'Epic', publish: true })
    await insertChapters(db, story.id, 1, 999)

    const last = await app.inject({ method: 'POST', url: `/v1/stories/${story.id}/chapters`, headers: authHeaders(author), body: { title: 'The end', content: 'Fin.' } })
    t.equal(last.statusCode, 201, 'the 1,000th chapter is accepted')
    t.equal((last.json() as ChapterEntry).position, 1000)
    t.equal((await app.inject(`/v1/stories/${story.id}/chapters/1000`)).statusCode, 200, 'and readable at its position')

    const before = await rowCounts(db)
    const storyBefore = await db.selectFrom('stories').selectAll().where('id', '=', story.id).executeTakeFirstOrThrow()
    const refused = await app.inject({ method: 'POST', url: `/v1/stories/${story.id}/chapters`, headers: authHeaders(author), body: { title: 'Epilogue', content: 'More.' } })
    t.equal(refused.statusCode, 409)
    t.equal(refused.headers['content-type'], PROBLEM_JSON)
    t.match(refused.json(), { status: 409, code: 'chapter_limit_reached', detail: /1[, ]?000/ })
    t.same(await rowCounts(db), before, 'no chapter was written')
    t.same(await db.selectFrom('stories').selectAll().where('id', '=', story.id).executeTakeFirstOrThrow(), storyBefore, 'the story is unchanged (updated_at included)')
    t.equal(await chapterCount(db, story.id), 1000)
  })

  t.test('concurrent appends to a story with room for two: two are written, the others get 409, never more than 1,000', async (t) => {
    const story = await createStory(app, author, { title: 'Race', publish: true })
    await insertChapters(db, story.id, 1, 998)
    const responses = await Promise.all(Array.from({ length: 6 }, (_, n) => app.inject({
      method: 'POST',
      url: `/v1/stories/${story.id}/chapters`,
      headers: authHeaders(author),
      body: { title: `Contender ${n}`, content: 'Text' }
    })))
    t.same(responses.map((response) => response.statusCode).sort(), [201, 201, 409, 409, 409, 409])
    t.same(responses.filter((response) => response.statusCode === 201).map((response) => (response.json() as ChapterEntry).position).sort((a, b) => a - b), [999, 1000])
    t.ok(responses.filter((response) => response.statusCode === 409).every((response) => (response.json() as Problem).code === 'chapter_limit_reached'))
    t.equal(await chapterCount(db, story.id), 1000, 'exactly 1,000 chapters')
  })
})
