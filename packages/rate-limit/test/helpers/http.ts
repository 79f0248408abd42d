import { Agent, request } from 'node:http'

export interface HttpResponse {
  status: number
  headers: Record<string, string | string[] | undefined>
  body: string
  /** Milliseconds from sending the request to the end of the response. */
  ms: number
}

export interface SendOptions {
  method?: string
  headers?: Record<string, string>
  agent?: Agent
  /** The client's source address on the loopback network (e.g. `127.0.0.2`): a client IP of its own. */
  localAddress?: string
}

/** A real HTTP request over a socket (not inject): what a client behind the network sees. */
export function send (url: string, { method = 'GET', headers = {}, agent, localAddress }: SendOptions = {}): Promise<HttpResponse> {
  const started = performance.now()
  return new Promise((resolve, reject) => {
    const req = request(url, { method, headers, agent, localAddress }, (res) => {
      let body = ''
      res.setEncoding('utf8')
      res.on('data', (chunk: string) => { body += chunk })
      res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body, ms: performance.now() - started }))
      res.on('error', reject)
    })
    req.on('error', reject)
    req.end()
  })
}

export function get (url: string, headers: Record<string, string> = {}, agent?: Agent): Promise<HttpResponse> {
  return send(url, { headers, agent })
}
