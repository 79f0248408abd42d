import * as net from 'node:net'

interface Teardown { teardown(fn: () => unknown): void }

export interface TcpProxy {
  /** The port clients connect to instead of the target's. */
  port: number
  /** Connections accepted so far. */
  readonly accepted: number
  /**
   * Cuts the path like a network partition: nothing more is forwarded on open connections
   * and new ones are accepted but never reach the target, so clients hang until their own
   * timeouts fire.
   */
  blackhole(): void
  /** Cuts the path like a dead server: open connections are reset and new ones closed at once. */
  reset(): void
  /** Restores the path; connections held during a cut are dropped, new ones are forwarded. */
  restore(): void
  close(): Promise<void>
}

type Mode = 'forward' | 'blackhole' | 'reset'

/** A TCP proxy on 127.0.0.1 in front of `target`, which the test can cut and restore. */
export async function startTcpProxy (t: Teardown, target: { host: string, port: number }): Promise<TcpProxy> {
  let mode: Mode = 'forward'
  let accepted = 0
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

  const close = async () => {
    dropAll()
    await new Promise<void>((resolve) => server.close(() => resolve()))
  }
  t.teardown(close)

  return {
    port,
    get accepted () { return accepted },
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
