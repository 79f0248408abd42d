import t from 'tap'
import { build } from './helpers/build.js'

t.test('startDraining turns readiness and /health to 503 at once, saying why; liveness stays 200', async (t) => {
  const app = await build(t, { version: '9.9.9' })
  let runs = 0
  app.health.addCheck('database', () => { runs++ })
  t.equal((await app.inject('/health/ready')).statusCode, 200, 'ready before draining')
  t.equal(app.health.draining, false)
  const before = app.health.lastReport

  app.health.startDraining()
  t.equal(app.health.draining, true)
  for (const url of ['/health/ready', '/health']) {
    const response = await app.inject(url)
    t.equal(response.statusCode, 503, `${url} answers 503 although a healthy report is cached`)
    t.equal(response.headers['cache-control'], 'no-store')
    t.match(response.json(), { status: 'unhealthy', reason: 'draining', version: '9.9.9', checks: {} })
    t.type(response.json().timestamp, 'string')
  }
  t.equal((await app.inject('/health/live')).statusCode, 200)
  t.equal(runs, 1, 'no check runs while draining')
  t.equal(app.health.lastReport, before, 'lastReport keeps the last computed checks')
})

t.test('closing the server marks the registry as draining', async (t) => {
  const app = await build(t)
  await app.listen({ port: 0, host: '127.0.0.1' })
  t.equal(app.health.draining, false)
  await app.close()
  t.equal(app.health.draining, true)
})

t.test('while draining, every answer closes its connection, so no pooled keep-alive connection outlives the drain', async (t) => {
  const app = await build(t)
  app.get('/work', async () => ({ done: true }))
  t.not((await app.inject('/work')).headers.connection, 'close', 'kept alive before draining')
  app.health.startDraining()
  for (const url of ['/work', '/health/ready', '/health/live']) {
    t.equal((await app.inject(url)).headers.connection, 'close', `${url} answers with Connection: close`)
  }
})
