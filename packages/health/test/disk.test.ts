import { execFileSync } from 'node:child_process'
import Fastify from 'fastify'
import t, { type Test } from 'tap'
import { diskPercentUsed } from '../src/index.js'
import { build } from './helpers/build.js'

const ready = async (percent: number) => {
  const app = await build(t, { diskUsage: async () => percent, cacheMs: 0 })
  return app.inject('/health/ready')
}

t.test('disk use up to 80 % is healthy', async (t) => {
  for (const percent of [0, 42.26, 80]) {
    const response = await ready(percent)
    t.equal(response.statusCode, 200)
    t.match(response.json(), { status: 'healthy', checks: { disk: { status: 'healthy', percent_used: Math.round(percent * 10) / 10 } } })
  }
})

t.test('disk use above 80 % degrades the service (200)', async (t) => {
  for (const percent of [80.1, 90]) {
    const response = await ready(percent)
    t.equal(response.statusCode, 200)
    t.match(response.json(), { status: 'degraded', checks: { disk: { status: 'degraded', percent_used: percent } } })
  }
})

t.test('disk use above 90 % makes the service unhealthy (503)', async (t) => {
  for (const percent of [90.1, 100]) {
    const response = await ready(percent)
    t.equal(response.statusCode, 503)
    t.match(response.json(), { status: 'unhealthy', checks: { disk: { status: 'unhealthy', percent_used: percent } } })
  }
})

t.test('the thresholds are options', async (t) => {
  const app = await build(t, { diskUsage: async () => 60, diskDegradedPercent: 50, diskUnhealthyPercent: 55, cacheMs: 0 })
  t.equal((await app.inject('/health/ready')).statusCode, 503)
})

t.test('a disk reading that fails or is not a number makes the disk check unhealthy', async (t) => {
  for (const diskUsage of [async () => { throw new Error('EIO') }, async () => Number.NaN, async () => 'full' as never]) {
    const app = await build(t, { diskUsage, cacheMs: 0 })
    const response = await app.inject('/health/ready')
    t.equal(response.statusCode, 503)
    t.match(response.json().checks.disk, { status: 'unhealthy', error: 'check failed' })
  }
})

/** What statfs reports, in blocks; the fields the usage is computed from. */
interface StatfsBlocks { blocks: number, bfree: number, bavail: number }

/** The plugin module with `statfs` answering `reading` for every path. */
async function withStatfs (t: Test, reading: StatfsBlocks) {
  const disk = await t.mockImport<typeof import('../src/disk.js')>('../src/disk.js', {
    'node:fs/promises': { statfs: async () => ({ type: 0xef53, bsize: 4096, files: 1000, ffree: 500, ...reading }) }
  })
  return t.mockImport<typeof import('../src/index.js')>('../src/index.js', { '../src/disk.js': disk })
}

t.test('usage is computed as df does: blocks reserved for root are not usable', async (t) => {
  const cases: Array<[string, StatfsBlocks, number]> = [
    ['750 of 1000 blocks used, 200 of the 250 free ones reserved', { blocks: 1000, bfree: 250, bavail: 50 }, 93.75],
    ['750 of 1000 blocks used, nothing reserved', { blocks: 1000, bfree: 250, bavail: 250 }, 75],
    ['only reserved blocks left', { blocks: 1000, bfree: 50, bavail: 0 }, 100],
    ['an empty file system with a reserve', { blocks: 1000, bfree: 1000, bavail: 950 }, 0],
    ['no blocks at all (/proc)', { blocks: 0, bfree: 0, bavail: 0 }, 0]
  ]
  for (const [name, reading, percent] of cases) {
    const { diskPercentUsed: measure } = await withStatfs(t, reading)
    t.equal(await measure('/any'), percent, name)
  }
})

t.test('the disk check reports that computation through the plugin', async (t) => {
  const { default: mockedHealth } = await withStatfs(t, { blocks: 1000, bfree: 250, bavail: 50 })
  const app = Fastify()
  t.teardown(() => app.close())
  await app.register(mockedHealth, { diskPath: '/data', cacheMs: 0 })
  const response = await app.inject('/health/ready')
  t.equal(response.statusCode, 503)
  t.match(response.json().checks.disk, { status: 'unhealthy', percent_used: 93.8 })
})

t.test('by default the disk check measures the real file system of diskPath, as df reports it', async (t) => {
  const app = await build(t, { diskUsage: undefined, diskPath: '/', cacheMs: 0 })
  const disk = (await app.inject('/health/ready')).json().checks.disk
  // df -P: Filesystem, 1024-blocks, Used, Available, Capacity (Used / (Used + Available), rounded up), Mounted on.
  const row = execFileSync('df', ['-P', '-k', '/'], { encoding: 'utf8' }).trim().split('\n').at(-1) ?? ''
  const [, , used = Number.NaN, available = Number.NaN] = row.split(/\s+/).map(Number)
  const expected = used / (used + available) * 100
  t.ok(Math.abs(disk.percent_used - expected) < 0.5, `percent_used ${disk.percent_used}, df says ${expected.toFixed(1)}`)
  t.equal(disk.status, disk.percent_used > 90 ? 'unhealthy' : disk.percent_used > 80 ? 'degraded' : 'healthy')
})

t.test('a diskPath that does not exist makes the disk check unhealthy', async (t) => {
  const app = await build(t, { diskUsage: undefined, diskPath: '/no/such/directory/here', cacheMs: 0 })
  const response = await app.inject('/health/ready')
  t.equal(response.statusCode, 503)
  t.match(response.json().checks.disk, { status: 'unhealthy', error: 'check failed' })
  t.notOk(response.body.includes('/no/such'), 'the path is not echoed')
})

t.test('diskPath false turns the disk check off', async (t) => {
  const app = await build(t, { diskUsage: undefined, diskPath: false })
  t.same(app.health.checkNames, ['event_loop', 'memory'])
  t.equal((await app.inject('/health/ready')).json().checks.disk, undefined)
})

t.test('a real file system without blocks (/proc) reads as 0 % used', async (t) => {
  t.equal(await diskPercentUsed('/proc'), 0)
})
