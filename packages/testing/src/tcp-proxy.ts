import * as net from 'node:net'

interface Teardown { teardown(fn: () => unknown): void }

/** A statement a PostgreSQL client sent through the proxy. */
export interface ProxiedQuery {
  /** When it passed through, `performance.now()`. */
  at: number
  /** The SQL text (a simple query, or the Parse of an extended-protocol query). */
  sql: string
}

export interface TcpProxy {
  /** The port clients connect to instead of the target's. */
  port: number
  /** Connections accepted so far. */
  readonly accepted: number
  /** Client connections open now. */
  readonly open: number
  /**
   * With `postgres: true`: every statement that went through to PostgreSQL, in order. One
   * entry is one round trip to the server: a simple query ('Q'), or a Parse…Sync batch of
   * the extended protocol, recorded once, at its Sync.
   */
  readonly queries: readonly ProxiedQuery[]
  /**
   * Cuts the path like a network partition: nothing more is forwarded on open connections,
   * new ones are accepted but never reach the target, so clients hang until their own
   * timeouts fire.
   */
  blackhole(): void
  /** Cuts the path like a dead server: open connections are reset, new ones reset at once. */
  reset(): void
  /** Restores the path: connections held during a cut are reset, new ones are forwarded. */
  restore(): void
  close(): Promise<void>
}

type Mode = 'forward' | 'blackhole' | 'reset'

const SSL_REQUEST = 80877103
const GSSENC_REQUEST = 80877104

/**
 * Reads the frontend side of the PostgreSQL wire protocol (client → server) and reports
 * each round trip. Startup packets carry no type byte; after the startup message every
 * message is a type byte and an int32 length that counts itself.
 */
function postgresFrontendReader (onQuery: (sql: string) => void): (chunk: Buffer) => void {
  let buffered = Buffer.alloc(0)
  let started = false
  let pendingSql: string | null = null
  return (chunk) => {
    buffered = Buffer.concat([buffered, chunk])
    for (;;) {
      if (!started) {
        if (buffered.length < 8) return
        const length = buffered.readInt32BE(0)
        if (buffered.length < length) return
        const code = buffered.readInt32BE(4)
        buffered = buffered.subarray(length)
        // An SSL or GSS request is followed by the real startup message.
        if (code !== SSL_REQUEST && code !== GSSENC_REQUEST) started = true
        continue
      }
      if (buffered.length < 5) return
      const type = String.fromCharCode(buffered[0] as number)
      const length = buffered.readInt32BE(1)
      if (buffered.length < 1 + length) return
      const body = buffered.subarray(5, 1 + length)
      buffered = buffered.subarray(1 + length)
      if (type === 'Q') {
        onQuery(body.subarray(0, body.indexOf(0)).toString('utf8'))
      } else if (type === 'P') {
        // Parse: statement name, then the query text, both NUL-terminated.
        const nameEnd = body.indexOf(0)
        pendingSql = body.subarray(nameEnd + 1, body.indexOf(0, nameEnd + 1)).toString('utf8')
      } else if (type === 'S') {
        onQuery(pendingSql ?? '(prepared statement)')
        pendingSql = null
      }
    }
  }
}

export interface TcpProxyOptions {
  /** Read the PostgreSQL protocol going through and record each statement (`queries`). Default: false. */
  postgres?: boolean
}

/**
 * A TCP proxy on 127.0.0.1 in front of `target` that the test can cut and restore while its
 * clients keep running; with `postgres: true` it also records every statement it forwards.
 */
export async function startTcpProxy (t: Teardown, target: { host: string, port: number }, { postgres = false }: TcpProxyOptions = {}): Promise<TcpProxy> {
  let mode: Mode = 'forward'
  let accepted = 0
  const queries: ProxiedQuery[] = []
  const clients = new Set<net.Socket>()
  const sockets = new Set<net.Socket>()
  const track = (socket: net.Socket) => {
    sockets.add(socket)
    socket.on('close', () => sockets.delete(socket))
    socket.on('error', () => {})
  }
  const dropAll = () => {
    for (const socket of sockets) socket.resetAndDestroy()
  }

  const server = net.createServer((client) => {
    accepted++
    track(client)
    clients.add(client)
    client.on('close', () => clients.delete(client))
    if (mode === 'reset') {
      client.resetAndDestroy()
      return
    }
    if (mode === 'blackhole') {
      client.pause()
      return
    }
    const upstream = net.connect(target.port, target.host)
    track(upstream)
    if (postgres) {
      const read = postgresFrontendReader((sql) => queries.push({ at: performance.now(), sql }))
      client.on('data', read)
    }
    client.pipe(upstream)
    upstream.pipe(client)
    client.on('close', () => upstream.destroy())
    upstream.on('close', () => client.destroy())
  })
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject)
    server.listen(0, '127.0.0.1', resolve)
  })
  const port = (server.address() as net.AddressInfo).port

  let closed = false
  const close = async () => {
    if (closed) return
    closed = true
    dropAll()
    await new Promise<void>((resolve) => server.close(() => resolve()))
  }
  t.teardown(close)

  return {
    port,
    get accepted () { return accepted },
    get open () { return clients.size },
    queries,
    blackhole () {
      mode = 'blackhole'
      for (const socket of sockets) {
        socket.unpipe()
        socket.pause()
      }
    },
    reset () {
      mode = 'reset'
      dropAll()
    },
    restore () {
      mode = 'forward'
      dropAll()
    },
    close
  }
}
