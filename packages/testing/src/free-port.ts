import { once } from 'node:events'
import { createServer, type AddressInfo } from 'node:net'

/**
 * A port on 127.0.0.1 that nothing listened on a moment ago. Another process may take it
 * before the caller listens: callers that spawn a server retry on EADDRINUSE.
 */
export async function freePort (): Promise<number> {
  const server = createServer()
  server.listen(0, '127.0.0.1')
  await once(server, 'listening')
  const { port } = server.address() as AddressInfo
  await new Promise((resolve) => server.close(resolve))
  return port
}
