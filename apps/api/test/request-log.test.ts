import t from 'tap'
import { authHeaders } from './helpers/auth.js'
import { build, databaseEnv } from './helpers/build.js'

type Line = Record<string, unknown>

const completed = (logs: Line[]) => logs.filter((line) => line.msg === 'request completed')

t.test('at LOG_LEVEL=debug each answered request gets exactly one request-completed line: method, route, status, duration, request id', async (t) => {
  const logs: Line[] = []
  const app = await build(t, { ...await databaseEnv(t, 'request_log'), LOG_LEVEL: 'debug' }, { logs })
  const story = await app.inject({ method: 'POST', url: '/v1/stories', headers: authHeaders('user_2abcLogger'), body: { title: 'Logged' } })
  t.equal(story.statusCode, 201)
  const requests = [
    { answer: story, method: 'POST', route: '/v1/stories', status: 201 },
    { answer: await app.inject({ url: `/v1/stories/${story.json().id as string}` }), method: 'GET', route: '/v1/stories/:id', status: 404 },
    { answer: await app.inject({ method: 'POST', url: '/v1/stories', body: { title: 'No' } }), method: 'POST', route: '/v1/stories', status: 401 },
    { answer: await app.inject({ url: '/v1/stories?limit=0' }), method: 'GET', route: '/v1/stories', status: 400 },
    { answer: await app.inject({ url: '/no/such/path' }), method: 'GET', route: null, status: 404 }
  ]
  const lines = completed(logs)
  t.equal(lines.length, requests.length, 'one line per request, none for anything else')
  for (const { answer, method, route, status } of requests) {
    t.equal(answer.statusCode, status)
    const mine = lines.filter((line) => line.reqId === answer.headers['x-request-id'])
    t.equal(mine.length, 1, `${method} ${answer.raw.req.url}: one line with its request id`)
    t.match(mine[0], { level: 20, method, route, status, duration_ms: Number })
    t.ok((mine[0]?.duration_ms as number) >= 0)
    t.notOk('req' in (mine[0] ?? {}) || 'res' in (mine[0] ?? {}), 'no headers: the route pattern, not the URL with its ids')
  }
  t.equal(logs.filter((line) => line.msg === 'incoming request').length, 0, 'Fastify\'s incoming-request line stays off')
})

t.test('at LOG_LEVEL=info there is no request line at all', async (t) => {
  const logs: Line[] = []
  const app = await build(t, await databaseEnv(t, 'request_log_info'), { logs })
  t.equal((await app.inject({ url: '/v1/stories' })).statusCode, 200)
  t.equal((await app.inject({ url: '/no/such/path' })).statusCode, 404)
  t.ok(logs.length > 0, 'the logger writes at info')
  t.same(completed(logs), [])
  t.same(logs.filter((line) => line.msg === 'incoming request'), [])
})
