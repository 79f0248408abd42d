import { spawn } from 'node:child_process'
import { fileURLToPath } from 'node:url'
import t from 'tap'

const serverJs = fileURLToPath(new URL('../dist/bundle/server.js', import.meta.url))

function runServer (env: Record<string, string>) {
  const child = spawn(process.execPath, [serverJs], { env: { PATH: process.env.PATH ?? '', ...env }, stdio: ['ignore', 'pipe', 'pipe'] })
  let output = ''
  child.stdout.on('data', (chunk) => { output += chunk })
  child.stderr.on('data', (chunk) => { output += chunk })
  return new Promise<{ code: number | null, output: string }>((resolve) => {
    child.on('exit', (code) => resolve({ code, output }))
  })
}

t.test('an invalid production configuration exits 78 before listening, listing every problem without secrets', async (t) => {
  const weakKey = 'django-insecure-k3y-that-someone-copied-from-a-tutorial-0123456789'
  const { code, output } = await runServer({
    NODE_ENV: 'production',
    PORT: '0',
    SECRET_KEY: weakKey,
    DEBUG: 'true',
    DATABASE_URL: 'postgres://muejam:muejam_password@127.0.0.1:5432/muejam',
    AUTH_ALGORITHMS: 'HS256'
  })
  t.equal(code, 78)
  t.match(output, /^Invalid configuration \(9 problems\):/)
  for (const variable of ['SECRET_KEY', 'DEBUG', 'DATABASE_URL', 'AUTH_ALGORITHMS', 'SENTRY_DSN', 'METRICS_TOKEN', 'REDIS_URL', 'AUTH_ISSUER', 'PUBLIC_URL']) {
    t.match(output, `  - ${variable} (`, `${variable} is listed`)
  }
  t.notMatch(output, weakKey)
  t.notMatch(output, 'muejam_password')
  t.notMatch(output, 'listening', 'the server never listened')
})
