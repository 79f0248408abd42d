import t from 'tap'
import { authHeaders } from './helpers/auth.js'
import { build, databaseEnv, inspectDatabase } from './helpers/build.js'
import { createStory, rowCounts } from './helpers/stories.js'

const PROBLEM_JSON = 'application/problem+json; charset=utf-8'
const STORY = '/v1/stories/00000000-0000-4000-8000-000000000000'

t.test('a wrong method on a known path gets 405 method_not_allowed with Allow; an unknown path stays 404', async (t) => {
  const env = await databaseEnv(t, 'method_not_allowed')
  const app = await build(t, env)
  const db = inspectDatabase(t, env.DATABASE_URL)
  const author = 'user_2methodAuthor'
  const story = await createStory(app, author, { title: 'Methodical', publish: true, chapters: [{ title: 'One', content: 'x' }] })
  const before = await rowCounts(db)

  const cases: Array<[string, string, string]> = [
    ['PUT', `/v1/stories/${story.id}`, 'GET, HEAD, PATCH, DELETE'],
    ['POST', STORY, 'GET, HEAD, PATCH, DELETE'],
    ['PUT', '/v1/stories', 'GET, HEAD, POST'],
    ['DELETE', '/v1/stories?limit=1', 'GET, HEAD, POST'],
    ['POST', '/v1/me', 'GET, HEAD'],
    ['DELETE', '/v1/me/stories', 'GET, HEAD'],
    ['PUT', `/v1/stories/${story.id}/chapters`, 'GET, HEAD, POST'],
    ['POST', `/v1/stories/${story.id}/chapters/1`, 'GET, HEAD, PATCH, DELETE'],
    ['OPTIONS', `/v1/stories/${story.id}`, 'GET, HEAD, PATCH, DELETE'],
    ['PUT', '/health/live', 'GET, HEAD'],
    ['POST', '/metrics', 'GET, HEAD'],
    ['TRACE', '/v1/stories', 'GET, HEAD, POST']
  ]
  for (const [method, url, allow] of cases) {
    const response = await app.inject({ method: method as 'PUT', url, headers: authHeaders(author), body: method === 'POST' || method === 'PUT' ? { title: 'x' } : undefined })
    t.equal(response.statusCode, 405, `${method} ${url}`)
    t.equal(response.headers.allow, allow, `${method} ${url}: Allow`)
    t.equal(response.headers['content-type'], PROBLEM_JSON)
    t.match(response.json(), { status: 405, code: 'method_not_allowed', title: 'Method Not Allowed', type: 'urn:muejam:problem:method_not_allowed', instance: url.split('?')[0], detail: `${method} is not allowed here; allowed: ${allow}.` })
  }
  t.same(await rowCounts(db), before, 'nothing written')

  const unknown = await app.inject({ method: 'PUT', url: '/v1/nowhere?secret=1', headers: { 'x-request-id': 'req-404' } })
  t.equal(unknown.statusCode, 404)
  t.equal(unknown.headers.allow, undefined)
  t.same(unknown.json(), {
    type: 'urn:muejam:problem:route_not_found',
    title: 'Not Found',
    status: 404,
    detail: 'No route for PUT /v1/nowhere',
    instance: '/v1/nowhere',
    code: 'route_not_found',
    request_id: 'req-404'
  }, 'the 404 body is as before')
  for (const url of [`/v1/stories/${story.id}/`, `/v1/stories/${story.id}/extra`, '/V1/STORIES', '/v1/stories/x/chapters/1/more']) {
    const response = await app.inject({ method: 'PUT', url })
    t.equal(response.statusCode, 404, `PUT ${url}: no route matches the path under any method, as for GET`)
    t.equal(response.json().code, 'route_not_found')
  }
  t.equal((await app.inject({ url: `/v1/stories/${story.id}/` })).statusCode, 404, 'GET with the trailing slash is a 404 too')
})

t.test('with CORS, OPTIONS is answered on every path and left out of Allow; unknown paths stay 404', async (t) => {
  const origin = 'https://app.muejam.test'
  const app = await build(t, { ...await databaseEnv(t, 'method_not_allowed_cors'), CORS_ORIGINS: origin })
  const wrong = await app.inject({ method: 'PUT', url: STORY })
  t.equal(wrong.statusCode, 405)
  t.equal(wrong.headers.allow, 'GET, HEAD, PATCH, DELETE')
  const unknown = await app.inject({ method: 'PUT', url: '/v1/nowhere' })
  t.equal(unknown.statusCode, 404)
  t.equal(unknown.json().code, 'route_not_found')
  const preflight = await app.inject({ method: 'OPTIONS', url: STORY, headers: { origin, 'access-control-request-method': 'PATCH' } })
  t.equal(preflight.statusCode, 204, 'a preflight is still CORS\'s')
})

t.test('405s draw on the address\'s anonymous budget, like 404s', async (t) => {
  const app = await build(t, { ...await databaseEnv(t, 'method_not_allowed_limit'), RATE_LIMIT_MAX: '3' })
  const responses = []
  for (let attempt = 0; attempt < 5; attempt++) responses.push(await app.inject({ method: 'PUT', url: STORY }))
  t.same(responses.map((response) => response.statusCode), [405, 405, 405, 429, 429])
  t.same(responses.slice(0, 3).map((response) => response.headers['x-ratelimit-remaining']), ['2', '1', '0'])
  t.equal(responses[3]?.json().code, 'rate_limited')
  t.ok(responses[3]?.headers['retry-after'])
})
