import { STATUS_CODES, type IncomingMessage, type ServerResponse } from 'node:http'
import type { Socket } from 'node:net'
import type { FastifyInstance } from 'fastify'
import fp from 'fastify-plugin'
import { HostMissingError } from '../errors.js'
import { PROBLEM_TYPE_BASE } from '../problem.js'

interface ProtocolProblem {
  status: number
  code: string
  detail: string
}

function problemJson ({ status, code, detail }: ProtocolProblem): string {
  return JSON.stringify({ type: `${PROBLEM_TYPE_BASE}${code}`, title: STATUS_CODES[status], status, detail, code })
}

function parserProblem (code: string | undefined): ProtocolProblem {
  if (code === 'ERR_HTTP_REQUEST_TIMEOUT') return { status: 408, code: 'client_timeout', detail: 'The request was not received in time.' }
  if (code === 'HPE_HEADER_OVERFLOW') return { status: 431, code: 'headers_too_large', detail: 'The request line and headers are too large.' }
  return { status: 400, code: 'bad_request', detail: 'The request is not valid HTTP.' }
}

/**
 * Fastify's `clientErrorHandler`: what Node's HTTP parser refuses (a malformed request line
 * or header, oversized headers, a slow client) never reaches Fastify, so it is written to the
 * socket here, as a problem like every other refusal.
 */
export function clientErrorHandler (this: FastifyInstance, error: Error & { code?: string }, socket: Socket): void {
  if (error.code === 'ECONNRESET' || socket.destroyed) return
  const problem = parserProblem(error.code)
  this.log.debug({ err: error, code: problem.code }, 'refused before parsing')
  if (socket.writable) {
    const body = problemJson(problem)
    socket.write(`HTTP/1.1 ${problem.status} ${STATUS_CODES[problem.status]}\r\nContent-Type: application/problem+json; charset=utf-8\r\nContent-Length: ${Buffer.byteLength(body)}\r\nConnection: close\r\n\r\n${body}`)
  }
  socket.destroy(error)
}

/**
 * Problems for the two refusals Node otherwise writes bare: an HTTP/1.1 request without `Host`
 * (the server runs with `requireHostHeader: false` so that it reaches Fastify), and an
 * `Expect` header other than `100-continue`.
 */
async function protocolProblems (app: FastifyInstance) {
  app.addHook('onRequest', function requireHost (request, _reply, done) {
    if (request.headers.host === undefined && request.raw.httpVersion !== '1.0') {
      done(new HostMissingError())
      return
    }
    done()
  })
  app.server.on('checkExpectation', (_request: IncomingMessage, response: ServerResponse) => {
    const body = problemJson({ status: 417, code: 'expectation_failed', detail: 'The only expectation this server meets is 100-continue.' })
    response.writeHead(417, { 'content-type': 'application/problem+json; charset=utf-8', 'content-length': Buffer.byteLength(body), connection: 'close' }).end(body)
  })
}

export default fp(protocolProblems, { name: 'muejam-api-protocol-problems', fastify: '>=5.12.0 <6' })
