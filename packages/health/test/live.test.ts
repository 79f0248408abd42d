import Fastify from 'fastify'
import t from 'tap'
import health from '../src/index.js'

t.test('GET /health/live answers 200 pass without touching any dependency', async (t) => {
  const app = Fastify()
  t.teardown(() => app.close())
  await app.register(health)
  const response = await app.inject('/health/live')
  t.equal(response.statusCode, 200)
  t.same(response.json(), { status: 'pass' })
})
