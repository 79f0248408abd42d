// Runs autocannon (in a process of its own) against one URL and reads its JSON report.
import { execFile } from 'node:child_process'
import { createRequire } from 'node:module'
import { promisify } from 'node:util'

const run = promisify(execFile)
const cli = createRequire(import.meta.url).resolve('autocannon/autocannon.js')

export async function autocannon ({ url, connections, seconds, headers, method = 'GET', body }) {
  const args = [cli, '--json', '-w', '2', '-c', String(connections), '-d', String(seconds), '-t', '10', '-m', method]
  for (const [name, value] of Object.entries(headers)) args.push('-H', `${name}=${value}`)
  if (body !== undefined) args.push('-b', body)
  const { stdout } = await run(process.execPath, [...args, url], { maxBuffer: 16 << 20 })
  const report = JSON.parse(stdout)
  return {
    requestsPerSecond: report.requests.total / report.duration,
    p50: report.latency.p50,
    p99: report.latency.p99,
    non2xx: report.non2xx,
    socketErrors: report.errors + report.timeouts + report.resets,
    total: report.requests.total
  }
}
