import { Kysely, sql, DummyDriver, PostgresAdapter, PostgresIntrospector, PostgresQueryCompiler } from 'kysely'
import t from 'tap'
import { isWrite } from '../src/connection.js'

interface Tables { notes: { id: number, body: string } }

const db = new Kysely<Tables>({
  dialect: {
    createAdapter: () => new PostgresAdapter(),
    createDriver: () => new DummyDriver(),
    createIntrospector: (kysely) => new PostgresIntrospector(kysely),
    createQueryCompiler: () => new PostgresQueryCompiler()
  }
})

t.test('isWrite tells statements that may change data from plain reads', async (t) => {
  t.equal(isWrite(db.selectFrom('notes').selectAll().compile()), false)
  t.equal(isWrite(db.with('n', (qb) => qb.selectFrom('notes').selectAll()).selectFrom('n').selectAll().compile()), false)
  t.equal(isWrite(db.with('n', (qb) => qb.deleteFrom('notes').returningAll()).selectFrom('n').selectAll().compile()), true)
  t.equal(isWrite(db.insertInto('notes').values({ id: 1, body: 'x' }).compile()), true)
  t.equal(isWrite(db.updateTable('notes').set({ body: 'y' }).compile()), true)
  t.equal(isWrite(db.deleteFrom('notes').compile()), true)
  t.equal(isWrite(sql`  SELECT 1`.compile(db)), false)
  t.equal(isWrite(sql`update notes set body = 'z'`.compile(db)), true)
  t.equal(isWrite(sql`with x as (select 1) select * from x`.compile(db)), true, 'raw SQL that is not a plain select counts as a write')
})
