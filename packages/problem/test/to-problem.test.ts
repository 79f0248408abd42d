import Fastify from 'fastify'
import t from 'tap'
import { createProblemError, renderProblem, sendProblem, toProblem } from '../src/index.js'

const Odd = createProblemError({ code: 'odd_failure', statusCode: 599, message: () => 'Odd.', headers: () => ({ 'retry-after': '3' }) })

t.test('toProblem and sendProblem answer a problem from any handler, with the defaults', async (t) => {
  const app = Fastify()
  t.teardown(() => app.close())
  // As a host's frameworkErrors or a route that answers a problem without throwing.
  app.get('/direct', async (request, reply) => sendProblem(reply, toProblem(new Odd(), request)))
  app.get('/unknown', async (request, reply) => sendProblem(reply, toProblem(new Error('secret'), request)))
  const response = await app.inject('/direct?x=1')
  t.equal(response.statusCode, 599)
  t.equal(response.headers['content-type'], 'application/problem+json; charset=utf-8')
  t.same(response.json(), {
    type: 'urn:problem:odd_failure',
    title: 'Server Error',
    status: 599,
    detail: 'Odd.',
    instance: '/direct',
    code: 'odd_failure',
    request_id: response.json().request_id
  })
  t.equal(response.headers['retry-after'], undefined, 'toProblem gives the body only')
  t.match((await app.inject('/unknown')).json(), { status: 500, code: 'internal_error' })
})

t.test('renderProblem also gives the headers the problem error asks for', async (t) => {
  const app = Fastify()
  t.teardown(() => app.close())
  app.get('/render', async (request, reply) => {
    const { problem, headers } = renderProblem(new Odd(), request, { typeBase: 'urn:acme:' })
    if (headers !== undefined) reply.headers(headers)
    return sendProblem(reply, problem)
  })
  const response = await app.inject('/render')
  t.equal(response.headers['retry-after'], '3')
  t.equal(response.json().type, 'urn:acme:odd_failure')
})
