import { execFileSync, spawn, type ChildProcess } from 'node:child_process'
import { once } from 'node:events'
import { chownSync, existsSync, readdirSync, readFileSync, rmSync } from 'node:fs'
import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { setTimeout as sleep } from 'node:timers/promises'
import { freePort } from '@muejam/testing/free-port'
import pg from 'pg'

interface Teardown { teardown(fn: () => unknown): void }

const INSTALL_HINT = 'Install the server with: apt-get install -y postgresql (or set PG_BIN_DIR to the folder holding initdb and postgres).'

export interface OwnPostgres {
  /** TCP port on 127.0.0.1, where every login needs its role's password (SCRAM). */
  port: number
  /** A superuser client over the Unix socket (trust), for set-up; closed at teardown. */
  admin: pg.Client
}

/** PG_BIN_DIR, else pg_config's answer, else Debian's newest /usr/lib/postgresql/<major>/bin. */
function binDir (): string {
  const candidates = [process.env.PG_BIN_DIR]
  try {
    candidates.push(execFileSync('pg_config', ['--bindir'], { encoding: 'utf8' }).trim())
  } catch {}
  const debian = '/usr/lib/postgresql'
  if (existsSync(debian)) {
    const majors = readdirSync(debian).map(Number).filter(Number.isInteger).sort((a, b) => b - a)
    candidates.push(...majors.map((major) => join(debian, String(major), 'bin')))
  }
  const found = candidates.find((dir) => dir !== undefined && dir !== '' && existsSync(join(dir, 'initdb')))
  if (found === undefined) throw new Error(`PostgreSQL's initdb was not found. ${INSTALL_HINT}`)
  return found
}

/** initdb and postgres refuse to run as root: then they run as the postgres account. */
function serverAccount (): { uid: number, gid: number } | undefined {
  if (process.getuid?.() !== 0) return undefined
  const line = readFileSync('/etc/passwd', 'utf8').split('\n').find((entry) => entry.startsWith('postgres:'))
  if (line === undefined) throw new Error('running as root and there is no postgres account to run PostgreSQL as')
  const [, , uid, gid] = line.split(':')
  return { uid: Number(uid), gid: Number(gid) }
}

/**
 * A PostgreSQL server of the test's own, in a temporary folder: the shared server trusts
 * every login from 127.0.0.1, so it cannot show that a password is checked. This one
 * checks passwords on TCP. Stopped and removed at teardown.
 */
export async function startOwnPostgres (t: Teardown): Promise<OwnPostgres> {
  const bin = binDir()
  const account = serverAccount()
  const directory = await mkdtemp(join(tmpdir(), 'muejam-pg-'))
  if (account !== undefined) chownSync(directory, account.uid, account.gid)
  const data = join(directory, 'data')
  const asServer = account === undefined ? {} : account
  execFileSync(join(bin, 'initdb'), ['-D', data, '-U', 'postgres', '--auth-local=trust', '--auth-host=scram-sha-256', '--no-sync'], { ...asServer, stdio: 'pipe' })

  const port = await freePort()
  const server: ChildProcess = spawn(join(bin, 'postgres'), [
    '-D', data, '-p', String(port), '-k', directory, '-c', 'listen_addresses=127.0.0.1', '-c', 'fsync=off'
  ], { ...asServer, stdio: ['ignore', 'ignore', 'pipe'] })
  let output = ''
  server.stderr?.setEncoding('utf8').on('data', (chunk: string) => { output = (output + chunk).slice(-4000) })
  let exited = false
  const exit = once(server, 'exit').then(() => { exited = true })
  // A test process that exits without its teardown (a crash, a bail-out) must not leave the
  // server running or its files behind.
  const stopAtExit = () => {
    server.kill('SIGKILL')
    rmSync(directory, { recursive: true, force: true })
  }
  process.once('exit', stopAtExit)
  const adminSettings = { host: directory, port, user: 'postgres', database: 'postgres' }
  let admin: pg.Client | undefined
  t.teardown(async () => {
    process.off('exit', stopAtExit)
    await admin?.end().catch(() => {})
    if (!exited) {
      // SIGINT is PostgreSQL's fast shutdown: open sessions are disconnected.
      server.kill('SIGINT')
      await exit
    }
    await rm(directory, { recursive: true, force: true })
  })

  const deadline = Date.now() + 30_000
  while (admin === undefined) {
    const client = new pg.Client(adminSettings)
    try {
      await client.connect()
      admin = client
    } catch (error) {
      await client.end().catch(() => {})
      if (exited || Date.now() > deadline) throw new Error(`PostgreSQL did not start on port ${port}: ${output.trim() || String(error)}. ${INSTALL_HINT}`)
      await sleep(100)
    }
  }
  return { port, admin }
}
