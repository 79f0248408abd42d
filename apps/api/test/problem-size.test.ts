import type { AddressInfo } from 'node:net'
import t from 'tap'
import { authHeaders } from './helpers/auth.js'
import { build, databaseEnv, inspectDatabase } from './helpers/build.js'
import { createStory, rowCounts } from './helpers/stories.js'

interface Problem {
  status: number
  code: string
  detail: string
  instance: string
  errors?: Array<{ field: string, message: string }>
  errors_omitted?: number
}

/** What any problem body must stay under, whatever the request. */
const PROBLEM_MAX_BYTES = 16 * 1024
const ERRORS_MAX = 20

t.test('a problem stays under 16 KiB whatever the request echoes, and nothing is written', async (t) => {
  const env = await databaseEnv(t, 'problem_size')
  const app = await build(t, env)
  const db = inspectDatabase(t, env.DATABASE_URL)
  const author = 'user_2abcProblemSize'
  const story = await createStory(app, author, { title: 'Sized', publish: true })
  await app.listen({ port: 0, host: '127.0.0.1' })
  const origin = `http://127.0.0.1:${(app.server.address() as AddressInfo).port}`
  const before = await rowCounts(db)

  /** Sends over a real socket; checks status, code, media type and size; returns the problem. */
  async function problemOf (name: string, path: string, init: RequestInit, status: number, code: string): Promise<Problem> {
    const response = await fetch(`${origin}${path}`, init)
    const text = await response.text()
    t.equal(response.status, status, `${name}: ${status}`)
    t.equal(response.headers.get('content-type'), 'application/problem+json; charset=utf-8', `${name}: a problem`)
    t.ok(Buffer.byteLength(text) < PROBLEM_MAX_BYTES, `${name}: ${Buffer.byteLength(text)} bytes, under 16 KiB`)
    const problem = JSON.parse(text) as Problem
    t.equal(problem.code, code, `${name}: ${code}`)
    return problem
  }

  t.test('2,200 unknown query parameters: 20 errors and the count of the rest', async (t) => {
    const query = Array.from({ length: 2200 }, (_, i) => `k${i.toString(36)}`).join('&')
    t.ok(query.length > 9_000, `a ${query.length}-byte query string`)
    const problem = await problemOf('2,200 parameters', `/v1/stories?${query}`, {}, 400, 'validation_failed')
    t.equal(problem.errors?.length, ERRORS_MAX)
    t.same(problem.errors?.[0], { field: 'querystring.k0', message: 'must NOT have additional properties' })
    t.equal(problem.errors_omitted, 2200 - ERRORS_MAX)
  })

  t.test('a 9 KB parameter name is not echoed whole', async (t) => {
    const name = 'n'.repeat(9_000)
    const problem = await problemOf('a 9 KB name', `/v1/stories?${name}=1`, {}, 400, 'validation_failed')
    t.equal(problem.errors?.length, 1)
    const field = problem.errors?.[0]?.field ?? ''
    t.ok(field.startsWith('querystring.nnn') && field.endsWith('…') && field.length <= 64, `the field is cut: ${field.length} characters`)
    t.notOk('errors_omitted' in problem, 'nothing omitted')
  })

  t.test('a cut never splits a character', async (t) => {
    const loneSurrogate = /[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/
    for (const name of ['😀'.repeat(100), `x${'😀'.repeat(100)}`]) {
      const problem = await problemOf('a name of emoji', `/v1/stories?${encodeURIComponent(name)}=1`, {}, 400, 'validation_failed')
      const field = problem.errors?.[0]?.field ?? ''
      t.ok(field.startsWith('querystring.') && field.endsWith('…') && field.length <= 64, `cut: ${field}`)
      t.notMatch(field, loneSurrogate, 'no half of a surrogate pair')
    }
  })

  t.test('names JSON must escape six-fold, in the body', async (t) => {
    const body = Object.fromEntries(Array.from({ length: 600 }, (_, i) => [`${'\u0001'.repeat(200)}${i}`, 1]))
    const problem = await problemOf('escaped names', `/v1/stories/${story.id}`, {
      method: 'PATCH',
      headers: { ...authHeaders(author), 'content-type': 'application/json' },
      body: JSON.stringify(body)
    }, 400, 'validation_failed')
    t.equal(problem.errors?.length, ERRORS_MAX)
    t.equal(problem.errors_omitted, 600 - ERRORS_MAX)
  })

  t.test('errors spread over a hundred chapters', async (t) => {
    const chapters = Array.from({ length: 100 }, () => ({ title: 7, content: 8, extra: 9 }))
    const problem = await problemOf('100 bad chapters', '/v1/stories', {
      method: 'POST',
      headers: { ...authHeaders(author), 'content-type': 'application/json' },
      body: JSON.stringify({ title: 'Bad chapters', chapters })
    }, 400, 'validation_failed')
    t.equal(problem.errors?.length, ERRORS_MAX)
    t.equal(problem.errors_omitted, 300 - ERRORS_MAX)
  })

  t.test('a long unknown path: detail and instance are bounded', async (t) => {
    const path = `/v1/${'x'.repeat(12_000)}`
    const problem = await problemOf('a 12 KB path', `${path}?q=1`, {}, 404, 'route_not_found')
    t.ok(problem.instance.length <= 200 && path.startsWith(problem.instance), `instance is the path's start: ${problem.instance.length} characters`)
    t.ok(problem.detail.length <= 200 && problem.detail.startsWith('No route for GET /v1/xxx') && problem.detail.endsWith('…'), `detail is cut: ${problem.detail.length} characters`)
  })

  t.test('a 12 KB content type is not echoed whole', async (t) => {
    const problem = await problemOf('a 12 KB media type', '/v1/stories', {
      method: 'POST',
      headers: { ...authHeaders(author), 'content-type': `text/${'y'.repeat(12_000)}` },
      body: 'x'
    }, 415, 'unsupported_media_type')
    t.ok(problem.detail.length <= 200, `detail is cut: ${problem.detail.length} characters`)
  })

  t.test('short problems are whole', async (t) => {
    const problem = await problemOf('one unknown parameter', '/v1/stories?sort=old', {}, 400, 'validation_failed')
    t.same(problem.errors, [{ field: 'querystring.sort', message: 'must NOT have additional properties' }])
    t.notOk('errors_omitted' in problem)
    t.equal(problem.instance, '/v1/stories')
  })

  t.test('nothing was written', async (t) => {
    t.same(await rowCounts(db), before)
  })
})
