import { connect, type Socket } from 'node:net'

/** The fields node-postgres keeps about a connection, public but untyped in @types/pg. */
export interface CancellableClient {
  host: string
  port: number
  /** From BackendKeyData, which every server (and pgbouncer) sends before the first query. */
  processID: number
  secretKey: number
}

const CANCEL_REQUEST_CODE = 80877102

/**
 * Sends PostgreSQL's protocol CancelRequest for the query running on `client`. It needs no
 * pooled connection (the pool may be exhausted) and works through pgbouncer, which maps
 * the key to its server connection. Resolves once the server has taken the request and
 * closed the socket, so the cancel cannot reach a query started later on that connection;
 * never rejects: a cancel that cannot be delivered leaves the statement timeout in charge.
 */
export function sendCancelRequest (client: CancellableClient, timeoutMs: number): Promise<void> {
  const { processID, secretKey } = client
  return new Promise((resolve) => {
    const socket: Socket = client.host.startsWith('/')
      ? connect({ path: `${client.host}/.s.PGSQL.${client.port}` })
      : connect({ host: client.host, port: client.port })
    socket.setTimeout(timeoutMs, () => socket.destroy())
    // The server answers nothing and closes; reading lets 'end' and 'close' happen.
    socket.resume()
    socket.once('connect', () => {
      const packet = Buffer.alloc(16)
      packet.writeInt32BE(16, 0)
      packet.writeInt32BE(CANCEL_REQUEST_CODE, 4)
      packet.writeInt32BE(processID, 8)
      packet.writeInt32BE(secretKey, 12)
      // Not end(): pgbouncer drops a cancel whose sender half-closes before it is forwarded.
      socket.write(packet)
    })
    socket.once('error', () => socket.destroy())
    socket.once('close', () => resolve())
  })
}
