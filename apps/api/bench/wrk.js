// Runs wrk against one URL and reads its report.
import { execFile } from 'node:child_process'
import { promisify } from 'node:util'

const run = promisify(execFile)

function toMs (value, unit) {
  const factor = { us: 0.001, ms: 1, s: 1000, m: 60_000 }[unit]
  return Number(value) * factor
}

export function parseWrk (output) {
  const requests = Number(/Requests\/sec:\s+([\d.]+)/.exec(output)?.[1] ?? 0)
  const latency = (percent) => {
    const match = new RegExp(`^\\s+${percent}%\\s+([\\d.]+)(us|ms|s|m)\\s*$`, 'm').exec(output)
    return match ? toMs(match[1], match[2]) : Number.NaN
  }
  const errors = /Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)/.exec(output)
  return {
    requestsPerSecond: requests,
    p50: latency(50),
    p99: latency(99),
    non2xx: Number(/Non-2xx or 3xx responses: (\d+)/.exec(output)?.[1] ?? 0),
    socketErrors: errors ? errors.slice(1).reduce((sum, n) => sum + Number(n), 0) : 0,
    total: Number(/(\d+) requests in/.exec(output)?.[1] ?? 0)
  }
}

export async function wrk ({ url, connections, seconds, headers }) {
  const args = ['-t', '2', '-c', String(connections), '-d', `${seconds}s`, '--latency', '--timeout', '10s']
  for (const [name, value] of Object.entries(headers)) args.push('-H', `${name}: ${value}`)
  const { stdout } = await run('wrk', [...args, url], { maxBuffer: 1 << 20 })
  return parseWrk(stdout)
}
