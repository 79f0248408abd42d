import { spawn, type ChildProcess } from 'node:child_process'
import { once } from 'node:events'
import { readFileSync } from 'node:fs'
import { chmod, mkdtemp, rm, writeFile } from 'node:fs/promises'
import { connect } from 'node:net'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { setTimeout as sleep } from 'node:timers/promises'
import { findExecutable, SBIN_DIRS } from './executable.js'
import { freePort } from './free-port.js'

interface Teardown { teardown(fn: () => unknown): void }

const INSTALL_HINT = 'Install it with: apt-get update && apt-get install -y pgbouncer (or set PGBOUNCER_BIN to its path).'

export interface PgbouncerOptions {
  /** The PostgreSQL database pgbouncer forwards to (postgres:// URL; its user logs in by trust). */
  databaseUrl: string
  /** Server connections per user and database (`default_pool_size`). Default: 5. */
  poolSize?: number
  /** Client connections accepted (`max_client_conn`). Default: 500. */
  maxClientConnections?: number
  /**
   * Authenticate clients with their role's password as stored in PostgreSQL (SCRAM, looked
   * up with `auth_query` on every login), so changing the role's password takes effect at
   * once. Default: false (trust, for the URL's user only).
   */
  passwordAuth?: boolean
}

export interface Pgbouncer {
  port: number
  /** A URL of the same database through pgbouncer, for the given role (default: the URL's user). */
  url(user?: string, password?: string): string
  /** Stops pgbouncer (also done at teardown). */
  stop(): Promise<void>
}

function findBinary (): string {
  const found = findExecutable('pgbouncer', { envVar: 'PGBOUNCER_BIN', extraDirs: SBIN_DIRS })
  if (found === null) throw new Error(`pgbouncer is not installed. ${INSTALL_HINT}`)
  return found
}

/** pgbouncer refuses to run as root; it switches to this account when started as root. */
function unprivilegedUser (): string | undefined {
  if (process.getuid?.() !== 0) return undefined
  const accounts = readFileSync('/etc/passwd', 'utf8')
  return /^postgres:/m.test(accounts) ? 'postgres' : 'nobody'
}

async function acceptsConnections (port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = connect({ host: '127.0.0.1', port })
    socket.once('connect', () => { socket.destroy(); resolve(true) })
    socket.once('error', () => { socket.destroy(); resolve(false) })
  })
}

/**
 * Starts Debian's pgbouncer in transaction pooling mode on a free port in front of one
 * database, and stops it at teardown. Fails with how to install it when it is missing.
 */
export async function startPgbouncer (t: Teardown, options: PgbouncerOptions): Promise<Pgbouncer> {
  const binary = findBinary()
  const target = new URL(options.databaseUrl)
  const database = decodeURIComponent(target.pathname.slice(1))
  const adminUser = decodeURIComponent(target.username) || 'postgres'
  const directory = await mkdtemp(join(tmpdir(), 'muejam-pgbouncer-'))
  // pgbouncer may run as another account (see unprivilegedUser) and must read these files.
  await chmod(directory, 0o755)
  const port = await freePort()
  const passwordAuth = options.passwordAuth ?? false
  const settings = [
    '[databases]',
    `${database} = host=${target.hostname} port=${target.port || '5432'} dbname=${database}`,
    '[pgbouncer]',
    'listen_addr = 127.0.0.1',
    `listen_port = ${port}`,
    'unix_socket_dir =',
    'pidfile =',
    'logfile =',
    'pool_mode = transaction',
    `default_pool_size = ${options.poolSize ?? 5}`,
    'min_pool_size = 0',
    'reserve_pool_size = 0',
    `max_client_conn = ${options.maxClientConnections ?? 500}`,
    'ignore_startup_parameters = extra_float_digits',
    'log_connections = 0',
    'log_disconnections = 0',
    `auth_file = ${join(directory, 'userlist.txt')}`,
    ...(passwordAuth
      ? ['auth_type = scram-sha-256', `auth_user = ${adminUser}`, 'auth_query = SELECT usename, passwd FROM pg_catalog.pg_shadow WHERE usename = $1']
      : ['auth_type = trust'])
  ]
  await writeFile(join(directory, 'pgbouncer.ini'), `${settings.join('\n')}\n`, { mode: 0o644 })
  await writeFile(join(directory, 'userlist.txt'), `"${adminUser}" ""\n`, { mode: 0o644 })

  const user = unprivilegedUser()
  const child: ChildProcess = spawn(binary, [...(user ? ['-u', user] : []), join(directory, 'pgbouncer.ini')], { stdio: ['ignore', 'ignore', 'pipe'] })
  let output = ''
  child.stderr?.setEncoding('utf8').on('data', (chunk: string) => { output = (output + chunk).slice(-4000) })
  let exited = false
  const exit = once(child, 'exit').then(() => { exited = true })

  const stop = async () => {
    if (!exited) {
      child.kill('SIGTERM')
      const killer = setTimeout(() => child.kill('SIGKILL'), 5000)
      await exit
      clearTimeout(killer)
    }
    await rm(directory, { recursive: true, force: true })
  }
  t.teardown(stop)

  const deadline = Date.now() + 10_000
  while (!(await acceptsConnections(port))) {
    if (exited || Date.now() > deadline) {
      await stop()
      throw new Error(`pgbouncer did not start on port ${port}: ${output.trim() || 'no output'}. ${INSTALL_HINT}`)
    }
    await sleep(50)
  }

  return {
    port,
    url (role = adminUser, password) {
      const url = new URL(options.databaseUrl)
      url.port = String(port)
      url.hostname = '127.0.0.1'
      url.username = encodeURIComponent(role)
      url.password = password === undefined ? '' : encodeURIComponent(password)
      return url.href
    },
    stop
  }
}
