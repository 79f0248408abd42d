import { connectAdmin } from '@muejam/testing/database'
import t from 'tap'
import { isDataException } from '../src/index.js'

t.test('isDataException: the value was refused (SQLSTATE class 22), not the statement or the connection', async (t) => {
  const client = await connectAdmin()
  t.teardown(() => client.end())
  const failure = (text: string) => client.query(text).then(() => t.fail(`${text} succeeded`), (error: unknown) => error)

  for (const text of ["select 'urn:uuid:0'::uuid", 'select 2147483648::int4', "select '2026-13-01'::date", "select convert_from('\\x00'::bytea, 'UTF8')"]) {
    t.equal(isDataException(await failure(text)), true, text)
  }
  t.equal(isDataException(await failure('select from nowhere_at_all')), false, 'an unknown table (42P01)')
  t.equal(isDataException(await failure('selec 1')), false, 'a syntax error (42601)')
  t.equal(isDataException(new Error('connection terminated')), false, 'a network error has no SQLSTATE')
})
