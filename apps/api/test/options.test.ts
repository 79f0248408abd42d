import { loadConfig } from '@muejam/config'
import t from 'tap'
import { dbPoolOptions } from '../src/db/options.js'

t.test('the configuration maps onto db-pool options; passwords are read live for each connection', async (t) => {
  const store = await loadConfig({
    NODE_ENV: 'test',
    DATABASE_URL: 'postgres://app:first%40pw@db:5432/muejam',
    DATABASE_REPLICA_URLS: 'postgres://app:replica-pw@r1/muejam,postgres://app@r2/muejam',
    DB_POOL_MAX: '7',
    DB_CONNECT_TIMEOUT_MS: '1234',
    DB_IDLE_TIMEOUT_MS: '5678',
    DB_STATEMENT_TIMEOUT_MS: '910'
  })
  t.teardown(() => store.close())
  const options = dbPoolOptions(store.config)
  t.match(options, {
    poolMax: 7,
    connectTimeoutMs: 1234,
    idleTimeoutMs: 5678,
    statementTimeoutMs: 910,
    applicationName: 'muejam-api',
    primary: { connectionString: 'postgres://app:first%40pw@db:5432/muejam' },
    replicas: [{ connectionString: 'postgres://app:replica-pw@r1/muejam' }, { connectionString: 'postgres://app@r2/muejam' }]
  })
  t.equal(options.embedded, undefined)
  t.equal(await options.primary?.password?.(), 'first@pw', 'decoded')
  t.equal(await options.replicas?.[0]?.password?.(), 'replica-pw')
  t.equal(await options.replicas?.[1]?.password?.(), '')
})

t.test('without DATABASE_URL the embedded database is used', async (t) => {
  const store = await loadConfig({ NODE_ENV: 'test', DATABASE_EMBEDDED_DIR: 'memory://' })
  t.teardown(() => store.close())
  t.match(dbPoolOptions(store.config), { embedded: { dataDir: 'memory://' }, primary: undefined })
})
