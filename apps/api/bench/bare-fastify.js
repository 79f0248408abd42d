// The framework's ceiling here: a bare Fastify route returning, as a constant, a body of the
// same shape and size as the API's story.
import Fastify from 'fastify'

const at = '2026-01-01T00:00:00.000Z'
const story = {
  id: '00000000-0000-4000-8000-000000000000',
  title: 'A benchmarked story',
  description: 'Read many times a second.',
  status: 'published',
  published_at: at,
  created_at: at,
  updated_at: at,
  author: { id: '00000000-0000-4000-8000-000000000001', handle: 'bench_author', display_name: 'Bench Author' }
}
const app = Fastify({ logger: false })
app.get('/v1/stories/:id', async () => story)
await app.listen({ port: Number(process.env.PORT), host: '127.0.0.1' })
console.log(`bare-fastify listening on ${process.env.PORT}`)
