// A server that registers nothing but @muejam/rate-limit, started as its own process by
// the multi-instance test. Configured by RL_* variables; prints {"port":N} once listening.
import Fastify from 'fastify'
import rateLimit from '../../src/index.js'

const app = Fastify()
await app.register(rateLimit, {
  redis: process.env.RL_REDIS_URL,
  keyPrefix: process.env.RL_KEY_PREFIX,
  max: Number(process.env.RL_MAX)
})
app.get('/things', async () => ({ ok: true }))
await app.listen({ host: '127.0.0.1', port: 0 })
process.stdout.write(`${JSON.stringify({ port: (app.server.address() as { port: number }).port })}\n`)
process.once('SIGTERM', () => { app.close().then(() => process.exit(0), () => process.exit(1)) })
