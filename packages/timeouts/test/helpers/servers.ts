import * as http from 'node:http'
import type { AddressInfo, Socket } from 'node:net'
import Fastify, { type FastifyHttpOptions, type FastifyInstance } from 'fastify'
import timeouts, { type TimeoutsOptions } from '../../src/index.js'

interface Teardown { teardown(fn: () => unknown): void }

export interface LogLine {
  level: number
  msg: string
  [key: string]: unknown
}

/** A plain Fastify app with the timeouts plugin, its log lines kept in `lines`. */
export async function build (t: Teardown, options: TimeoutsOptions = {}, server: FastifyHttpOptions<http.Server> = {}) {
  const lines: LogLine[] = []
  const app = Fastify({
    logger: { level: 'debug', stream: { write: (line: string) => { lines.push(JSON.parse(line) as LogLine) } } },
    ...server
  })
  t.teardown(() => app.close())
  await app.register(timeouts, options)
  return { app, lines }
}

/** Listens on a free port of 127.0.0.1 and returns the base URL. */
export async function listen (app: FastifyInstance): Promise<string> {
  await app.listen({ port: 0, host: '127.0.0.1' })
  return `http://127.0.0.1:${(app.server.address() as AddressInfo).port}`
}

export interface SlowServer {
  url: string
  /** Requests received so far. */
  readonly received: number
  /** Resolves when the socket of the first request closes, with the time it closed. */
  closed: Promise<number>
}

/** An HTTP server that accepts requests and never answers, noting when its client hangs up. */
export async function startSlowServer (t: Teardown): Promise<SlowServer> {
  let received = 0
  let markClosed!: (at: number) => void
  const closed = new Promise<number>((resolve) => { markClosed = resolve })
  const sockets = new Set<Socket>()
  const server = http.createServer((request) => {
    received++
    request.socket.once('close', () => markClosed(performance.now()))
  })
  server.on('connection', (socket) => {
    sockets.add(socket)
    socket.on('close', () => sockets.delete(socket))
  })
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  t.teardown(async () => {
    for (const socket of sockets) socket.destroy()
    await new Promise<void>((resolve) => server.close(() => resolve()))
  })
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    get received () { return received },
    closed
  }
}

export function sleep (ms: number) {
  return new Promise((resolve) => setTimeout(resolve, ms))
}

/** Resolves when `signal` aborts. */
export function aborted (signal: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    if (signal.aborted) resolve()
    else signal.addEventListener('abort', () => resolve(), { once: true })
  })
}

/** POSTs `body` as JSON to `url`; with `hangUpAfterMs`, destroys the socket after that long. */
export function post (url: string, body: unknown, hangUpAfterMs?: number): Promise<{ status: number, body: string } | 'hung up'> {
  const payload = JSON.stringify(body)
  return new Promise((resolve, reject) => {
    const outgoing = http.request(url, { method: 'POST', headers: { 'content-type': 'application/json', 'content-length': Buffer.byteLength(payload) } }, (incoming) => {
      let text = ''
      incoming.setEncoding('utf8')
      incoming.on('data', (chunk: string) => { text += chunk })
      incoming.on('end', () => resolve({ status: incoming.statusCode ?? 0, body: text }))
    })
    outgoing.on('error', (error) => hangUpAfterMs === undefined ? reject(error) : resolve('hung up'))
    outgoing.end(payload)
    if (hangUpAfterMs !== undefined) setTimeout(() => outgoing.destroy(), hangUpAfterMs)
  })
}
