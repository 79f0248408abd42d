import type { FastifyRequest } from 'fastify'
import t from 'tap'
import { MAX_JSON_DEPTH, nestsDeeperThan } from '../src/plugins/json-depth.js'
import { trimBody } from '../src/routes/trim-body.js'
import { authHeaders } from './helpers/auth.js'
import { build, databaseEnv, inspectDatabase } from './helpers/build.js'
import { createStory, rowCounts } from './helpers/stories.js'

interface Problem {
  status: number
  code: string
  errors?: Array<{ field: string, message: string }>
}

const DEPTH = 20_000
const BODY_LIMIT_BYTES = 1_048_576

const nestedArrays = (depth: number) => '['.repeat(depth) + ']'.repeat(depth)
const nestedObjects = (depth: number) => '{"a":'.repeat(depth) + '1' + '}'.repeat(depth)

t.test('deeply nested JSON within the body limit is a 400 body_too_deep, never a 5xx, and changes nothing', async (t) => {
  const env = await databaseEnv(t, 'deep_json')
  const logs: Array<Record<string, unknown>> = []
  const app = await build(t, { ...env, BODY_LIMIT_BYTES: String(BODY_LIMIT_BYTES) }, { logs })
  const db = inspectDatabase(t, env.DATABASE_URL)
  const author = 'user_2abcDeepAuthor'
  const story = await createStory(app, author, { title: 'Shallow', publish: true })
  const before = await rowCounts(db)

  const arrays = nestedArrays(DEPTH)
  t.equal(arrays.length, 40_000, 'the reported body: 20,000 nested arrays in 40 KB')
  // As deep as the body limit allows: two bytes a level.
  const deepest = nestedArrays(Math.floor(BODY_LIMIT_BYTES / 2))
  t.equal(Buffer.byteLength(deepest), BODY_LIMIT_BYTES, 'exactly at the body limit')
  const objects = nestedObjects(DEPTH)
  const titleOfArrays = `{"title":${arrays}}`
  const deepChapter = `{"title":"Fits","chapters":[{"title":"c","content":${nestedObjects(DEPTH)}}]}`
  const justTooDeep = `{"title":${nestedArrays(MAX_JSON_DEPTH)}}`

  const cases: Array<{ name: string, method: 'POST' | 'PATCH', url: string, user: string, payload: string }> = [
    { name: 'arrays, PATCH by a non-author', method: 'PATCH', url: `/v1/stories/${story.id}`, user: 'user_2abcDeepStranger', payload: arrays },
    { name: 'arrays, PATCH by the author', method: 'PATCH', url: `/v1/stories/${story.id}`, user: author, payload: arrays },
    { name: 'arrays, POST a story', method: 'POST', url: '/v1/stories', user: author, payload: arrays },
    { name: 'arrays, POST a chapter', method: 'POST', url: `/v1/stories/${story.id}/chapters`, user: author, payload: arrays },
    { name: 'arrays at the body limit, PATCH by a non-author', method: 'PATCH', url: `/v1/stories/${story.id}`, user: 'user_2abcDeepStranger', payload: deepest },
    { name: 'arrays at the body limit, POST a story', method: 'POST', url: '/v1/stories', user: author, payload: deepest },
    { name: 'objects, PATCH by a non-author', method: 'PATCH', url: `/v1/stories/${story.id}`, user: 'user_2abcDeepStranger', payload: objects },
    { name: 'objects, PATCH by the author', method: 'PATCH', url: `/v1/stories/${story.id}`, user: author, payload: objects },
    { name: 'objects, POST a story', method: 'POST', url: '/v1/stories', user: author, payload: objects },
    { name: 'a title of nested arrays, PATCH by the author', method: 'PATCH', url: `/v1/stories/${story.id}`, user: author, payload: titleOfArrays },
    { name: 'a title of nested arrays, POST a story', method: 'POST', url: '/v1/stories', user: author, payload: titleOfArrays },
    { name: 'chapter content of nested objects, POST a story', method: 'POST', url: '/v1/stories', user: author, payload: deepChapter },
    { name: 'one level past the limit, POST a story', method: 'POST', url: '/v1/stories', user: author, payload: justTooDeep }
  ]
  for (const { name, method, url, user, payload } of cases) {
    const response = await app.inject({ method, url, headers: { ...authHeaders(user), 'content-type': 'application/json' }, payload })
    t.equal(response.statusCode, 400, `${name}: 400`)
    t.equal(response.headers['content-type'], 'application/problem+json; charset=utf-8')
    t.equal((response.json() as Problem).code, 'body_too_deep', `${name}: body_too_deep`)
  }

  // At the limit the body is parsed, and the schema refuses its shape.
  const atTheLimit = `{"title":${nestedArrays(MAX_JSON_DEPTH - 1)}}`
  const response = await app.inject({ method: 'POST', url: '/v1/stories', headers: { ...authHeaders(author), 'content-type': 'application/json' }, payload: atTheLimit })
  t.equal(response.statusCode, 400)
  const problem = response.json() as Problem
  t.equal(problem.code, 'validation_failed', 'a body at the depth limit reaches validation')
  t.ok(problem.errors?.some((error) => error.field === 'body.title'), `names body.title (got ${JSON.stringify(problem.errors)})`)

  t.same(await rowCounts(db), before, 'nothing was written')
  const stored = await db.selectFrom('stories').select(['title', 'updated_at']).where('id', '=', story.id).executeTakeFirstOrThrow()
  t.equal(stored.title, 'Shallow', 'the story is unchanged')
  t.equal(stored.updated_at.toISOString(), story.updated_at, 'not even touched')
  t.same(logs.filter((line) => Number(line.level) >= 50), [], 'no error was logged (or reported)')
})

t.test('the depth scan counts only structure: brackets inside strings and escaped quotes do not count', async (t) => {
  t.equal(nestsDeeperThan('[[[]]]', 3), false, 'three levels are within three')
  t.equal(nestsDeeperThan('[[[[]]]]', 3), true, 'four are not')
  t.equal(nestsDeeperThan('{"a":{"b":{"c":{}}}}', 3), true, 'objects count as arrays do')
  t.equal(nestsDeeperThan('[[]][[]][[]]', 2), false, 'siblings do not add up')
  t.equal(nestsDeeperThan('{"a":"[[[[{{{{"}', 1), false, 'brackets inside a string')
  t.equal(nestsDeeperThan(String.raw`{"a":"\\"}[[[`, 2), true, 'an escaped backslash ends the string before the brackets')
  t.equal(nestsDeeperThan(String.raw`{"a":"\\\"[[[["}`, 1), false, 'an escaped quote after an escaped backslash does not end the string')
  t.equal(nestsDeeperThan('"unterminated [[[[', 1), false, 'an unterminated string hides the rest (the parser refuses it)')
})

t.test('the trimmer trims strings at any depth, without recursion', async (t) => {
  const levels = 200_000
  let body: unknown = ['  innermost  ']
  for (let level = 0; level < levels; level++) body = level % 2 === 0 ? [body, ' beside '] : { inner: body, text: '\tnext\n' }
  const request = { body } as unknown as FastifyRequest
  await trimBody(request)

  let node: unknown = request.body
  let walked = 0
  const untrimmed: string[] = []
  while (node !== null && typeof node === 'object') {
    const [inner, text] = Array.isArray(node) ? [node[0], node[1]] : [(node as { inner: unknown }).inner, (node as { text: unknown }).text]
    if (text === undefined) break
    if (typeof text !== 'string' || text !== text.trim()) untrimmed.push(JSON.stringify(text))
    node = inner
    walked++
  }
  t.equal(walked, levels, 'every level is still there')
  t.same(untrimmed, [], 'every string is trimmed')
  t.same(node, ['innermost'], 'the innermost string too')
})
