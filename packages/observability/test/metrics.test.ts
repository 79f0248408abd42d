import { request as httpRequest } from 'node:http'
import type { AddressInfo } from 'node:net'
import { parseSamples, sampleKey, scrapeSamples } from '@muejam/testing/metrics'
import { Counter, register as globalRegistry } from 'prom-client'
import t from 'tap'
import { build } from './helpers/app.js'

const DURATION = 'http_request_duration_seconds'

t.test('request durations are counted by method, route pattern and status after known traffic', async (t) => {
  const app = await build(t)
  app.get('/items/:id', async () => ({ ok: true }))
  app.post('/items', async (_request, reply) => reply.code(201).send({ ok: true }))
  app.get('/fail', async () => { throw new Error('boom') })
  app.register(async (child) => { child.get('/:slug', async () => 'nested') }, { prefix: '/v1/stories' })

  for (const url of ['/items/1', '/items/2', '/items/3?q=private-query']) await app.inject(url)
  for (let i = 0; i < 2; i++) await app.inject({ method: 'POST', url: '/items', payload: { a: 1 } })
  await app.inject('/fail')
  await app.inject('/v1/stories/hello')
  await app.inject({ method: 'HEAD', url: '/items/9' })
  await app.inject('/nope/abc')
  await app.inject('/other?x=1')

  const response = await app.inject('/metrics')
  t.equal(response.statusCode, 200)
  t.match(response.headers['content-type'], /^text\/plain; version=0\.0\.4/)
  const samples = parseSamples(response.body)
  const count = (labels: Record<string, string>) => samples.get(sampleKey(`${DURATION}_count`, labels))
  t.equal(count({ method: 'GET', route: '/items/:id', status: '200' }), 3)
  t.equal(count({ method: 'POST', route: '/items', status: '201' }), 2)
  t.equal(count({ method: 'GET', route: '/fail', status: '500' }), 1)
  t.equal(count({ method: 'GET', route: '/v1/stories/:slug', status: '200' }), 1, 'prefixed routes keep their full pattern')
  t.equal(count({ method: 'HEAD', route: '/items/:id', status: '200' }), 1)
  t.equal(count({ method: 'GET', route: 'unmatched', status: '404' }), 2, 'every unknown URL shares one series')
  t.equal(samples.get(sampleKey(`${DURATION}_bucket`, { method: 'GET', route: '/items/:id', status: '200', le: '+Inf' })), 3)
  t.equal(samples.get(sampleKey(`${DURATION}_bucket`, { method: 'GET', route: '/items/:id', status: '200', le: '30' })), 3)
  t.ok((samples.get(sampleKey(`${DURATION}_sum`, { method: 'GET', route: '/items/:id', status: '200' })) ?? 0) > 0, 'the sum adds up real durations')
  for (const raw of ['/items/1', '/nope/abc', '/other', 'private-query', '/v1/stories/hello']) {
    t.notOk(response.body.includes(raw), `the raw URL ${raw} never becomes a label`)
  }
  t.match(response.body, `# TYPE ${DURATION} histogram`)
})

t.test('buckets are cumulative and split observations at their bounds', async (t) => {
  const app = await build(t, { durationBuckets: [0.05, 10] })
  app.get('/fast', async () => 'fast')
  app.get('/slow', async () => {
    await new Promise((resolve) => setTimeout(resolve, 200))
    return 'slow'
  })
  await app.inject('/fast')
  await app.inject('/slow')
  const samples = await scrapeSamples(app)
  const bucket = (route: string, le: string) => samples.get(sampleKey(`${DURATION}_bucket`, { method: 'GET', route, status: '200', le }))
  t.equal(bucket('/slow', '0.05'), 0, 'a 200 ms request is above the 50 ms bound')
  t.equal(bucket('/slow', '10'), 1)
  t.equal(bucket('/slow', '+Inf'), 1)
  t.equal(bucket('/fast', '10'), 1)
  t.ok((samples.get(sampleKey(`${DURATION}_sum`, { method: 'GET', route: '/slow', status: '200' })) ?? 0) >= 0.15, 'the sum is in seconds')
})

t.test('a request rejected by a later onRequest hook is still counted under its route pattern', async (t) => {
  const app = await build(t)
  app.get('/private/:id', {
    onRequest: async (_request, reply) => reply.code(401).send({ code: 'token_missing' })
  }, async () => 'never')
  const response = await app.inject('/private/42')
  t.equal(response.statusCode, 401)
  t.ok(response.headers['x-request-id'])
  const samples = await scrapeSamples(app)
  t.equal(samples.get(sampleKey(`${DURATION}_count`, { method: 'GET', route: '/private/:id', status: '401' })), 1)
})

t.test('requests in flight count the requests not yet answered', async (t) => {
  const app = await build(t)
  let release: () => void = () => {}
  const released = new Promise<void>((resolve) => { release = resolve })
  app.get('/wait', async () => { await released; return 'done' })

  const pending = app.inject('/wait')
  await new Promise((resolve) => setTimeout(resolve, 20))
  let samples = await scrapeSamples(app)
  t.equal(samples.get('http_requests_in_flight'), 2, 'the waiting request and the scrape itself')
  release()
  await pending
  samples = await scrapeSamples(app)
  t.equal(samples.get('http_requests_in_flight'), 1, 'only the scrape')
})

t.test('a client that hangs up mid-request does not leave the in-flight gauge raised', async (t) => {
  const app = await build(t)
  let entered: () => void = () => {}
  const inHandler = new Promise<void>((resolve) => { entered = resolve })
  let release: () => void = () => {}
  const released = new Promise<void>((resolve) => { release = resolve })
  t.teardown(() => release())
  app.get('/hang', async () => { entered(); await released; return 'late' })
  await app.listen({ port: 0, host: '127.0.0.1' })
  const { port } = app.server.address() as AddressInfo

  const client = httpRequest({ host: '127.0.0.1', port, path: '/hang' })
  client.on('error', () => {})
  client.end()
  await inHandler
  t.equal((await scrapeSamples(app)).get('http_requests_in_flight'), 2)
  client.destroy()

  let inFlight: number | undefined
  for (let i = 0; i < 200; i++) {
    inFlight = (await scrapeSamples(app)).get('http_requests_in_flight')
    if (inFlight === 1) break
    await new Promise((resolve) => setTimeout(resolve, 10))
  }
  t.equal(inFlight, 1, 'the aborted request left the gauge')
  release()
  await new Promise((resolve) => setTimeout(resolve, 20))
  t.equal((await scrapeSamples(app)).get('http_requests_in_flight'), 1, 'and is not subtracted twice when its handler ends')
})

t.test('process metrics come from the plugin\'s own registry, so two apps in one process do not clash', async (t) => {
  const first = await build(t, { defaultMetrics: true })
  const second = await build(t, { defaultMetrics: true })
  for (const app of [first, second]) {
    const samples = await scrapeSamples(app)
    t.ok(samples.has('process_cpu_user_seconds_total'))
    t.ok(samples.has('nodejs_heap_size_used_bytes'))
  }
  t.equal(globalRegistry.getSingleMetric(DURATION), undefined, 'nothing lands in prom-client\'s global registry')
  t.not(first.metrics.registry, second.metrics.registry)
})

t.test('process metrics: no gauge is named *_total (promtool check metrics\'s rule); the by-type gauges stay', async (t) => {
  const app = await build(t, { defaultMetrics: true })
  const exposition = (await app.inject('/metrics')).body
  const types = new Map([...exposition.matchAll(/^# TYPE (\S+) (\S+)$/gm)].map(([, name, type]) => [name as string, type as string]))
  t.ok([...types.keys()].filter((name) => name.startsWith('nodejs_')).length > 10, 'the runtime metrics are there')
  t.same([...types].filter(([name, type]) => type !== 'counter' && name.endsWith('_total')).map(([name]) => name), [],
    'only counters end in _total')
  for (const name of ['nodejs_active_handles_total', 'nodejs_active_requests_total', 'nodejs_active_resources_total']) {
    t.notOk(types.has(name), `${name} is not exported`)
    t.notOk(exposition.includes(`\n${name} `), `${name} has no sample`)
  }
  for (const name of ['nodejs_active_handles', 'nodejs_active_requests', 'nodejs_active_resources']) {
    t.equal(types.get(name), 'gauge', `${name}{type} still counts them by type`)
  }
  t.match(exposition, /^nodejs_active_handles\{type="[A-Za-z]+"\} [1-9]/m, 'with samples')
})

t.test('the host adds its own prom-client metrics through app.metrics.registry, and a registry reset empties the histogram', async (t) => {
  const app = await build(t)
  const stories = new Counter({ name: 'muejam_stories_created_total', help: 'Stories created.', registers: [app.metrics.registry] })
  stories.inc(2)
  app.get('/ok', async () => 'ok')
  await app.inject('/ok')
  let samples = await scrapeSamples(app)
  t.equal(samples.get('muejam_stories_created_total'), 2)
  t.equal(samples.get(sampleKey(`${DURATION}_count`, { method: 'GET', route: '/ok', status: '200' })), 1)
  app.metrics.registry.resetMetrics()
  samples = await scrapeSamples(app)
  t.equal(samples.get(sampleKey(`${DURATION}_count`, { method: 'GET', route: '/ok', status: '200' })), undefined)
  const json = await app.metrics.registry.getMetricsAsJSON()
  t.ok(json.some((metric) => metric.name === DURATION))
})

t.test('with a metrics token, /metrics answers 401 without it and 200 with it', async (t) => {
  const token = 'a-metrics-token-of-thirty-two-chars-x'
  const app = await build(t, { metricsToken: token })

  const missing = await app.inject('/metrics')
  t.equal(missing.statusCode, 401)
  t.equal(missing.json().code, 'unauthenticated')
  t.equal(missing.headers['www-authenticate'], 'Bearer realm="metrics"')
  t.ok(missing.headers['x-request-id'])
  t.notOk(missing.body.includes('http_'), 'no metrics leak in the refusal')

  const wrong = await app.inject({ url: '/metrics', headers: { authorization: 'Bearer not-the-token' } })
  t.equal(wrong.statusCode, 401)
  t.equal(wrong.json().code, 'unauthenticated')
  t.equal(wrong.headers['www-authenticate'], 'Bearer realm="metrics", error="invalid_token"')

  const prefix = await app.inject({ url: '/metrics', headers: { authorization: `Bearer ${token.slice(0, -1)}` } })
  t.equal(prefix.statusCode, 401, 'a prefix of the token is not the token')
  const basic = await app.inject({ url: '/metrics', headers: { authorization: `Basic ${Buffer.from(`x:${token}`).toString('base64')}` } })
  t.equal(basic.statusCode, 401)
  t.equal(basic.headers['www-authenticate'], 'Bearer realm="metrics"', 'another scheme counts as no token')

  const right = await app.inject({ url: '/metrics', headers: { authorization: `Bearer ${token}` } })
  t.equal(right.statusCode, 200)
  t.match(right.body, '# TYPE http_requests_in_flight gauge')
  const lowercase = await app.inject({ url: '/metrics', headers: { authorization: `bearer ${token}` } })
  t.equal(lowercase.statusCode, 200, 'the scheme is case-insensitive (RFC 7235)')
})

t.test('a metrics token getter is read at each scrape: a rotated token is accepted at once and the old one refused', async (t) => {
  const first = 'first-metrics-token-of-thirty-two-chars'
  const second = 'second-metrics-token-of-thirty-two-chars'
  let current = first
  const app = await build(t, { metricsToken: () => current })
  const scrapeWith = async (token: string) => {
    const response = await app.inject({ url: '/metrics', headers: { authorization: `Bearer ${token}` } })
    return response.statusCode
  }
  t.equal(await scrapeWith(first), 200)
  t.equal(await scrapeWith(second), 401)
  current = second
  t.equal(await scrapeWith(first), 401, 'the old token is refused after the rotation')
  t.equal(await scrapeWith(second), 200, 'the new token is accepted without a restart')
  const refused = await app.inject({ url: '/metrics', headers: { authorization: `Bearer ${first}` } })
  t.match(refused.json(), { code: 'unauthenticated' })
  t.equal(refused.headers['www-authenticate'], 'Bearer realm="metrics", error="invalid_token"')
})

t.test('an empty metrics token leaves the endpoint open, given as is or by a getter', async (t) => {
  const app = await build(t, { metricsToken: '' })
  t.equal((await app.inject('/metrics')).statusCode, 200)
  for (const token of ['', null, undefined]) {
    const open = await build(t, { metricsToken: () => token })
    t.equal((await open.inject('/metrics')).statusCode, 200, String(token))
  }
})

t.test('the metrics route takes a custom path and carries the host\'s route config for its other plugins', async (t) => {
  const seen: Array<Record<string, unknown>> = []
  const { default: Fastify } = await import('fastify')
  const { default: observability } = await import('../src/index.js')
  const app = Fastify()
  t.teardown(() => app.close())
  app.addHook('onRoute', (route) => { seen.push({ url: route.url, ...route.config }) })
  await app.register(observability, { defaultMetrics: false, metricsPath: '/internal/metrics', metricsRouteConfig: { rateLimit: false, auth: false } })
  t.equal((await app.inject('/internal/metrics')).statusCode, 200)
  t.equal((await app.inject('/metrics')).statusCode, 404)
  t.match(seen.find((route) => route.url === '/internal/metrics'), { rateLimit: false, auth: false })
})
