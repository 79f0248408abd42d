import Fastify, { LogController, type FastifyBaseLogger } from 'fastify'
import t from 'tap'
import { lazyChildLoggerFactory, loggerOptions, REDACTED } from '../src/index.js'
import { LogCapture } from './helpers/app.js'

/** A Fastify app with the lazy factory whose logger counts the children it makes. */
async function build (t: { teardown(fn: () => unknown): void }, level: string) {
  const capture = new LogCapture()
  const app = Fastify({ logger: { ...loggerOptions({ level }), stream: capture }, logController: new LogController({ disableRequestLogging: true }), childLoggerFactory: lazyChildLoggerFactory })
  t.teardown(() => app.close())
  const made = { children: 0 }
  const child = app.log.child
  // Children of children inherit this method: only a request's own (with its reqId) counts.
  app.log.child = function (this: FastifyBaseLogger, ...args: Parameters<FastifyBaseLogger['child']>) {
    if ('reqId' in args[0]) made.children++
    return child.apply(this, args)
  }
  return { app, capture, made }
}

t.test('a request that writes no line makes no child logger', async (t) => {
  const { app, made } = await build(t, 'info')
  app.get('/quiet', async (request) => {
    request.log.debug('below the level')
    return { level: request.log.level }
  })
  const response = await app.inject('/quiet')
  t.same(response.json(), { level: 'info' }, 'the level is the parent\'s')
  t.equal(made.children, 0)
})

t.test('a request\'s lines are those of a pino child: its reqId, its fields, redaction', async (t) => {
  const { app, capture, made } = await build(t, 'info')
  app.get('/loud', async (request) => {
    request.log.info({ authorization: 'Bearer secret-token-value' }, 'first')
    request.log.warn('second')
    request.log.child({ step: 'nested' }).error('third')
    return 'ok'
  })
  const response = await app.inject({ url: '/loud', headers: { 'x-request-id': 'req-lazy-1' } })
  t.equal(response.statusCode, 200)
  const lines = capture.lines.filter((line) => typeof line.msg === 'string' && ['first', 'second', 'third'].includes(line.msg))
  t.match(lines, [
    { level: 30, msg: 'first', authorization: REDACTED },
    { level: 40, msg: 'second' },
    { level: 50, msg: 'third', step: 'nested' }
  ])
  const reqIds = new Set(lines.map((line) => line.reqId))
  t.equal(reqIds.size, 1, 'one reqId on every line')
  t.match([...reqIds][0], /^req-/)
  t.equal(made.children, 1, 'one child, made at the first line and reused')
})

t.test('a level set on the request logger applies to its later lines', async (t) => {
  const { app, capture } = await build(t, 'info')
  app.get('/verbose', async (request) => {
    request.log.level = 'debug'
    request.log.debug('now written')
    return { level: request.log.level }
  })
  const response = await app.inject('/verbose')
  t.same(response.json(), { level: 'debug' })
  t.ok(capture.lines.some((line) => line.msg === 'now written' && line.level === 20))
})

t.test('a route\'s own log level is honoured', async (t) => {
  const { app, capture } = await build(t, 'info')
  app.get('/route-level', { logLevel: 'debug' }, async (request) => {
    request.log.debug('route debug line')
    return { level: request.log.level }
  })
  const response = await app.inject('/route-level')
  t.same(response.json(), { level: 'debug' })
  t.ok(capture.lines.some((line) => line.msg === 'route debug line'))
})

t.test('every level method writes at its level; silent writes nothing', async (t) => {
  const { app, capture } = await build(t, 'trace')
  app.get('/levels', async (request) => {
    request.log.silent('never')
    request.log.trace('at trace')
    request.log.debug('at debug')
    request.log.info('at info')
    request.log.warn('at warn')
    request.log.error('at error')
    request.log.fatal('at fatal')
    return 'ok'
  })
  await app.inject('/levels')
  const written = capture.lines.filter((line) => typeof line.msg === 'string' && line.msg.startsWith('at ')).map((line) => [line.level, line.msg])
  t.same(written, [[10, 'at trace'], [20, 'at debug'], [30, 'at info'], [40, 'at warn'], [50, 'at error'], [60, 'at fatal']])
  t.notOk(capture.lines.some((line) => line.msg === 'never'))
})
