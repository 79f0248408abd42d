import { sql } from 'kysely'
import t from 'tap'
import { authHeaders } from './helpers/auth.js'
import { build, databaseEnv, inspectDatabase } from './helpers/build.js'
import { createStory, rowCounts } from './helpers/stories.js'

/*
 * The limits of a story creation at their exact edges: 100 chapters and 200 000 characters
 * of content are accepted, one more is refused before anything is written. Characters are
 * Unicode code points, as PostgreSQL's char_length counts them, not UTF-16 units.
 */

interface Problem {
  status: number
  code: string
  errors?: Array<{ field: string, message: string }>
}

const AUTHOR = 'user_2abcLimits'

const chapters = (count: number) => Array.from({ length: count }, (_, i) => ({ title: `Chapter ${i + 1}`, content: `Text ${i + 1}` }))

t.test('story creation limits', async (t) => {
  const env = await databaseEnv(t, 'creation_limits')
  const app = await build(t, env)
  const db = inspectDatabase(t, env.DATABASE_URL)
  // The author's profile exists before the first refusal, so every refusal must leave every count as it was.
  const first = await createStory(app, AUTHOR, { title: 'First' })

  const storedContentLengths = async (storyId: string) => (await sql<{ length: number }>`select char_length(content)::int as length from chapters where story_id = ${storyId} order by position`.execute(db)).rows.map((row) => row.length)

  t.test('100 chapters are accepted, in order', async (t) => {
    const story = await createStory(app, AUTHOR, { title: 'Hundred', chapters: chapters(100) })
    t.same(story.chapters?.map((chapter) => [chapter.position, chapter.title]), chapters(100).map((chapter, i) => [i + 1, chapter.title]))
    const stored = await db.selectFrom('chapters').select((eb) => eb.fn.countAll<string>().as('n')).where('story_id', '=', story.id).executeTakeFirstOrThrow()
    t.equal(Number(stored.n), 100, 'all 100 are stored')
  })

  t.test('200 000 characters of content are accepted, counted as characters', async (t) => {
    for (const [name, content] of [
      ['ASCII', 'x'.repeat(200_000)],
      ['characters outside the BMP (two UTF-16 units, four bytes each)', '\u{1F600}'.repeat(200_000)]
    ] as const) {
      const story = await createStory(app, AUTHOR, { title: `Long ${name}`, chapters: [{ title: 'Long', content }] })
      t.equal(story.chapters?.[0]?.content, content, `${name}: answered whole`)
      t.same(await storedContentLengths(story.id), [200_000], `${name}: stored whole`)
      const appended = await app.inject({ method: 'POST', url: `/v1/stories/${first.id}/chapters`, headers: authHeaders(AUTHOR), body: { title: `Appended ${name}`, content } })
      t.equal(appended.statusCode, 201, `${name}: an appended chapter of 200 000 characters is accepted too`)
    }
    t.same(await storedContentLengths(first.id), [200_000, 200_000], 'and stored whole')
  })

  t.test('101 chapters, or 200 001 characters, are refused with 400 validation_failed and nothing is written', async (t) => {
    const refusals: Array<{ name: string, url: string, body: Record<string, unknown>, errors: Problem['errors'] }> = [
      {
        name: '101 chapters',
        url: '/v1/stories',
        body: { title: 'Too many', chapters: chapters(101) },
        errors: [{ field: 'body.chapters', message: 'must NOT have more than 100 items' }]
      },
      {
        name: 'a chapter of 200 001 characters in a new story',
        url: '/v1/stories',
        body: { title: 'Too long', chapters: [{ title: 'Fine', content: 'fine' }, { title: 'Long', content: 'x'.repeat(200_001) }] },
        errors: [{ field: 'body.chapters.1.content', message: 'must NOT have more than 200000 characters' }]
      },
      {
        name: 'a chapter of 200 001 characters outside the BMP in a new story',
        url: '/v1/stories',
        body: { title: 'Too long', chapters: [{ title: 'Long', content: '\u{1F600}'.repeat(200_001) }] },
        errors: [{ field: 'body.chapters.0.content', message: 'must NOT have more than 200000 characters' }]
      },
      {
        name: 'an appended chapter of 200 001 characters',
        url: `/v1/stories/${first.id}/chapters`,
        body: { title: 'Long', content: 'x'.repeat(200_001) },
        errors: [{ field: 'body.content', message: 'must NOT have more than 200000 characters' }]
      }
    ]
    const before = await rowCounts(db)
    for (const { name, url, body, errors } of refusals) {
      const response = await app.inject({ method: 'POST', url, headers: authHeaders(AUTHOR), body })
      t.equal(response.statusCode, 400, `${name}: 400`)
      t.equal(response.headers['content-type'], 'application/problem+json; charset=utf-8')
      const problem = response.json() as Problem
      t.equal(problem.code, 'validation_failed', `${name}: validation_failed`)
      t.same(problem.errors, errors, `${name}: names the field and the limit`)
      t.same(await rowCounts(db), before, `${name}: nothing was written`)
    }
  })
})
