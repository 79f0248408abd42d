// The framework's ceiling here: a bare Fastify route returning a constant JSON body.
import Fastify from 'fastify'

const app = Fastify({ logger: false })
const story = { id: '00000000-0000-4000-8000-000000000000', title: 'A constant story', description: null }
app.get('/v1/stories/:id', async () => story)
await app.listen({ port: Number(process.env.PORT), host: '127.0.0.1' })
console.log(`bare-fastify listening on ${process.env.PORT}`)
