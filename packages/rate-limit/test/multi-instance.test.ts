import { type ChildProcess, spawn } from 'node:child_process'
import { once } from 'node:events'
import { fileURLToPath } from 'node:url'
import { createTestRedis } from '@muejam/testing/redis'
import t from 'tap'
import { get } from './helpers/http.js'

const FIXTURE = fileURLToPath(new URL('./helpers/fixture-server.ts', import.meta.url))

async function startInstance (t: Parameters<typeof createTestRedis>[0], env: Record<string, string>): Promise<string> {
  // The same loader flags as this test process, so the fixture runs from TypeScript sources.
  const child: ChildProcess = spawn(process.execPath, [...process.execArgv, FIXTURE], {
    env: { ...process.env, ...env },
    stdio: ['ignore', 'pipe', 'inherit']
  })
  t.teardown(async () => {
    if (child.exitCode !== null || child.signalCode !== null) return
    const exited = once(child, 'exit')
    child.kill('SIGTERM')
    await exited
  })
  let output = ''
  const port = await new Promise<number>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`instance did not start within 30 s: ${output}`)), 30_000)
    child.stdout?.on('data', (chunk: Buffer) => {
      output += chunk.toString()
      const match = /\{"port":(\d+)\}/.exec(output)
      if (match !== null) {
        clearTimeout(timer)
        resolve(Number(match[1]))
      }
    })
    child.once('exit', (code) => {
      clearTimeout(timer)
      reject(new Error(`instance exited with ${code} before listening: ${output}`))
    })
  })
  return `http://127.0.0.1:${port}`
}

t.test('three server processes sharing one Redis, limit 20: of 60 requests exactly 20 pass and 40 get 429 with Retry-After', async (t) => {
  const redis = await createTestRedis(t, 'multi-instance')
  const env = { RL_REDIS_URL: redis.url, RL_KEY_PREFIX: redis.prefix, RL_MAX: '20' }
  const instances = await Promise.all([startInstance(t, env), startInstance(t, env), startInstance(t, env)])

  const responses = await Promise.all(Array.from({ length: 60 }, (_, i) => get(`${instances[i % 3]}/things`)))

  const accepted = responses.filter((response) => response.status === 200)
  const refused = responses.filter((response) => response.status === 429)
  t.equal(accepted.length, 20, 'exactly the limit is accepted across the instances')
  t.equal(refused.length, 40)
  for (const response of refused) {
    t.match(response.headers['retry-after'], /^\d+$/)
    t.ok(Number(response.headers['retry-after']) >= 1 && Number(response.headers['retry-after']) <= 60)
    t.equal(response.headers['x-ratelimit-remaining'], '0')
    t.match(JSON.parse(response.body), { code: 'rate_limited', statusCode: 429 })
  }
  const remaining = accepted.map((response) => Number(response.headers['x-ratelimit-remaining'])).sort((a, b) => a - b)
  t.same(remaining, Array.from({ length: 20 }, (_, i) => i), 'every accepted request saw a distinct count: 19 … 0 remaining')
  t.equal(await redis.client.zcard(`${redis.prefix}default:ip:127.0.0.1`), 20, 'every admitted request is in the log once; no refused one is')
})
