import { type ChildProcess, spawn } from 'node:child_process'
import { chmod, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises'
import { connect } from 'node:net'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { setTimeout as sleep } from 'node:timers/promises'
import { fileURLToPath } from 'node:url'
import { findExecutable, SBIN_DIRS } from '@muejam/testing/executable'
import { freePort } from '@muejam/testing/free-port'

/*
 * The repository's load balancer, docker/lb/nginx.conf, run by Debian's nginx without Docker:
 * its upstream servers point at API processes on loopback ports, it listens on a loopback port
 * of its own, and its pid file, logs and temporary files live in a folder of the test's. Every
 * proxy setting of the shipped file is kept as it is; scripts/test-setup.sh installs nginx
 * before `pnpm test`.
 */

interface Test {
  teardown(fn: () => unknown): void
}

export const LB_CONF = fileURLToPath(new URL('../../../../docker/lb/nginx.conf', import.meta.url))

export const NGINX_MISSING = 'nginx not found. Install Debian\'s nginx: ' +
  'sudo apt-get install --no-install-recommends nginx (`pnpm test` installs it through scripts/test-setup.sh), ' +
  'or set NGINX_BIN to an nginx of your own.'

/** NGINX_BIN, then the PATH and the sbin folders a user's PATH often lacks; null when none has it. */
export function findNginx (): string | null {
  return findExecutable('nginx', { envVar: 'NGINX_BIN', extraDirs: SBIN_DIRS })
}

/** What each proxied request left in the access log the test adds. */
export interface AccessLogEntry {
  method: string
  uri: string
  /** The status nginx answered the client with. */
  status: number
  /** Each upstream tried, in order (`$upstream_addr`): more than one is a retry. */
  upstreams: string[]
  /** The status of each try (`$upstream_status`); 502 where the connection failed. */
  upstreamStatuses: string[]
}

export interface AdaptOptions {
  /** The loopback ports the upstream servers are rewritten to, one per server line, in order. */
  upstreamPorts: readonly number[]
  /** The loopback port nginx listens on instead of the file's. */
  listenPort: number
  /** Where the pid file, logs and temporary files go. */
  dir: string
}

const LOG_FORMAT = 'log_format upstreams \'$request_method $request_uri $status "$upstream_addr" "$upstream_status"\';'

/**
 * The shipped configuration with only what running it outside Docker needs changed:
 * upstream servers, the listen address, and the files nginx writes. Throws when the file's
 * shape is not the one this relies on, so a change to it is noticed here.
 */
export function adaptLoadBalancerConfig (text: string, { upstreamPorts, listenPort, dir }: AdaptOptions): string {
  const upstreams = [...text.matchAll(/^\s*upstream\s+\S+\s*\{[^}]*\}/gm)]
  if (upstreams.length !== 1) throw new Error(`docker/lb/nginx.conf has ${upstreams.length} upstream blocks; expected one`)
  const block = (upstreams[0] as RegExpMatchArray)[0]
  const server = /^(\s*)server\s+[^\s;]+/gm
  const count = block.match(server)?.length ?? 0
  if (count !== upstreamPorts.length) {
    throw new Error(`docker/lb/nginx.conf's upstream has ${count} servers; the test runs ${upstreamPorts.length} API processes`)
  }
  let n = 0
  let adapted = text.replace(block, block.replace(server, (_line, indent: string) => `${indent}server 127.0.0.1:${upstreamPorts[n++]}`))

  const listens = adapted.match(/^\s*listen\s+[^;]+;/gm) ?? []
  if (listens.length !== 1) throw new Error(`docker/lb/nginx.conf has ${listens.length} listen lines; expected one`)
  adapted = adapted.replace(/^(\s*)listen\s+[^;]+;/m, `$1listen 127.0.0.1:${listenPort};`)

  for (const directive of ['pid', 'daemon', 'error_log', 'user']) {
    if (new RegExp(`^\\s*${directive}\\s`, 'm').test(adapted)) throw new Error(`docker/lb/nginx.conf sets ${directive}; the test sets its own`)
  }
  if (!/^\s*http\s*\{/m.test(adapted)) throw new Error('docker/lb/nginx.conf has no http block')
  const files = [
    `client_body_temp_path ${join(dir, 'client_body')};`,
    `proxy_temp_path ${join(dir, 'proxy')};`,
    `fastcgi_temp_path ${join(dir, 'fastcgi')};`,
    `uwsgi_temp_path ${join(dir, 'uwsgi')};`,
    `scgi_temp_path ${join(dir, 'scgi')};`,
    LOG_FORMAT,
    `access_log ${join(dir, 'access.log')} upstreams;`
  ].map((line) => `  ${line}`).join('\n')
  // The shipped file turns access logs off; the test reads one to see which upstreams each request tried.
  adapted = adapted.replace(/^\s*access_log\s+off;\s*$/m, '')
  adapted = adapted.replace(/^(\s*http\s*\{)/m, `$1\n${files}`)
  return `pid ${join(dir, 'nginx.pid')};\nerror_log ${join(dir, 'error.log')} warn;\ndaemon off;\n${adapted}`
}

export interface Nginx {
  readonly port: number
  /** The configuration nginx runs, as adapted. */
  readonly config: string
  /** nginx's error log so far. */
  errorLog(): Promise<string>
  /** Every request proxied so far. */
  accessLog(): Promise<AccessLogEntry[]>
  /** Stops nginx gracefully (also done at teardown). */
  stop(): Promise<void>
}

const ENTRY = /^(\S+) (\S+) (\d+) "([^"]*)" "([^"]*)"$/

function parseEntries (text: string): AccessLogEntry[] {
  return text.split('\n').flatMap((line) => {
    const match = ENTRY.exec(line)
    if (match === null) return []
    const [, method, uri, status, addresses, statuses] = match as unknown as [string, string, string, string, string, string]
    // Tries are separated by ", "; " : " separates upstream groups after an internal redirect.
    const list = (value: string) => value === '-' ? [] : value.split(/\s*[,:]\s+/)
    return [{ method, uri, status: Number(status), upstreams: list(addresses), upstreamStatuses: list(statuses) }]
  })
}

async function accepts (port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = connect({ host: '127.0.0.1', port })
    socket.once('connect', () => { socket.destroy(); resolve(true) })
    socket.once('error', () => { socket.destroy(); resolve(false) })
  })
}

/**
 * Runs docker/lb/nginx.conf, adapted, in front of the API processes on `upstreamPorts`, and
 * stops it at teardown. Fails with how to install nginx when it is missing.
 */
export async function startLoadBalancer (t: Test, upstreamPorts: readonly number[]): Promise<Nginx> {
  const bin = findNginx()
  if (bin === null) throw new Error(NGINX_MISSING)
  const dir = await mkdtemp(join(tmpdir(), 'muejam-nginx-'))
  // Run as root, nginx's workers switch to an unprivileged account that must reach the temporary folders.
  await chmod(dir, 0o755)
  const port = await freePort()
  const config = adaptLoadBalancerConfig(await readFile(LB_CONF, 'utf8'), { upstreamPorts, listenPort: port, dir })
  const confFile = join(dir, 'nginx.conf')
  await writeFile(confFile, config)

  let output = ''
  const child: ChildProcess = spawn(bin, ['-p', dir, '-e', join(dir, 'error.log'), '-c', confFile], { stdio: ['ignore', 'pipe', 'pipe'] })
  child.stdout?.setEncoding('utf8').on('data', (chunk: string) => { output += chunk })
  child.stderr?.setEncoding('utf8').on('data', (chunk: string) => { output += chunk })
  let done = false
  const exited = new Promise<number | null>((resolve) => child.once('close', (code: number | null) => {
    done = true
    resolve(code)
  }))

  const errorLog = () => readFile(join(dir, 'error.log'), 'utf8').catch(() => '')
  const stop = async () => {
    if (!done) {
      // SIGQUIT: a graceful stop, as `nginx -s quit`.
      child.kill('SIGQUIT')
      const killer = setTimeout(() => child.kill('SIGKILL'), 5000)
      await exited
      clearTimeout(killer)
    }
  }
  t.teardown(async () => {
    await stop()
    await rm(dir, { recursive: true, force: true })
  })

  const deadline = Date.now() + 10_000
  while (!(await accepts(port))) {
    if (done || Date.now() > deadline) {
      await stop()
      throw new Error(`nginx did not start listening on 127.0.0.1:${port}.\n${output}\n${await errorLog()}\nConfiguration:\n${config}`)
    }
    await sleep(25)
  }
  return {
    port,
    config,
    errorLog,
    accessLog: async () => parseEntries(await readFile(join(dir, 'access.log'), 'utf8').catch(() => '')),
    stop
  }
}
