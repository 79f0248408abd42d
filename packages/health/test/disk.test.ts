import t from 'tap'
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

t.test('by default the disk check measures the real file system of diskPath with statfs', async (t) => {
  const app = await build(t, { diskUsage: undefined, diskPath: '/', cacheMs: 0 })
  const disk = (await app.inject('/health/ready')).json().checks.disk
  t.ok(disk.percent_used >= 0 && disk.percent_used <= 100, `percent_used ${disk.percent_used}`)
  const expected = disk.percent_used > 90 ? 'unhealthy' : disk.percent_used > 80 ? 'degraded' : 'healthy'
  t.equal(disk.status, expected)
  const direct = await diskPercentUsed('/')
  t.ok(Math.abs(direct - disk.percent_used) < 1, 'matches a direct statfs reading')
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

t.test('a file system without blocks (such as /proc) reads as 0 % used', async (t) => {
  t.equal(await diskPercentUsed('/proc'), 0)
})
