import { execFile } from 'node:child_process'
import { fileURLToPath } from 'node:url'
import { promisify } from 'node:util'
import { createTestDatabase } from '@muejam/testing/database'
import { sql } from 'kysely'
import t from 'tap'
import { migrateToLatest } from '../src/db/migrator.js'
import { build, inspectDatabase } from './helpers/build.js'

const run = promisify(execFile)
const migrateScript = fileURLToPath(new URL('../dist/db/migrate.js', import.meta.url))

t.test('pnpm migrate (dist/db/migrate.js) creates the schema with its constraints and indexes, once', async (t) => {
  const database = await createTestDatabase(t, 'api_migrate')
  const env = { ...process.env, DATABASE_URL: database.url, LOG_LEVEL: 'info', NODE_ENV: 'test' }
  const first = await run(process.execPath, [migrateScript], { env })
  t.match(first.stdout, /"migration":"20261127120000_initial_schema","status":"Success"/)
  t.match(first.stdout, /"migration":"20261201120100_stories_by_author_created","status":"Success"/)
  t.match(first.stdout, /"applied":3/)
  const second = await run(process.execPath, [migrateScript], { env })
  t.match(second.stdout, /"applied":0,"msg":"the database is up to date"/)

  const db = inspectDatabase(t, database.url)
  const tables = await sql<{ name: string }>`select table_name as name from information_schema.tables where table_schema = 'public' order by 1`.execute(db)
  t.same(tables.rows.map((row) => row.name), ['chapters', 'kysely_migration', 'kysely_migration_lock', 'moderator_roles', 'stories', 'user_profiles'])
  const indexes = await sql<{ name: string, definition: string }>`select indexname as name, indexdef as definition from pg_indexes where schemaname = 'public' order by 1`.execute(db)
  const byName = Object.fromEntries(indexes.rows.map((row) => [row.name, row.definition]))
  t.match(byName.stories_feed_idx, /\(published_at DESC, id DESC\) WHERE \(\(published_at IS NOT NULL\) AND \(deleted_at IS NULL\)\)/, 'the feed index is partial and ordered')
  t.match(byName.chapters_story_id_position_key, /UNIQUE.*\(story_id, "?position"?\)/, 'chapter order is unique and indexed')
  t.match(byName.user_profiles_clerk_user_id_key, /UNIQUE.*\(clerk_user_id\)/, 'profiles are found by Clerk id')
  t.match(byName.user_profiles_handle_key, /UNIQUE.*\(handle\)/)
  t.match(byName.stories_author_created_idx, /\(author_id, created_at DESC, id DESC\) WHERE \(deleted_at IS NULL\)/, 'an author\'s stories are indexed newest first')
  t.notOk(byName.stories_author_id_idx, 'the plain author index it replaces is gone')
  const { rows: [constraint] } = await sql<{ deferrable: boolean, deferred: boolean }>`select condeferrable as deferrable, condeferred as deferred from pg_constraint where conname = 'chapters_story_id_position_key'`.execute(db)
  t.same(constraint, { deferrable: true, deferred: false }, 'chapter positions are checked at the end of each statement, so one UPDATE can shift them')
  t.match(byName.moderator_roles_active_user_idx, /WHERE \(is_active = true\)/)

  const plan = await sql<{ 'QUERY PLAN': string }>`explain select id from stories where published_at is not null and deleted_at is null order by published_at desc, id desc limit 21`.execute(db)
  t.match(plan.rows.map((row) => row['QUERY PLAN']).join('\n'), /stories_feed_idx/, 'the feed query can use its index')

  const { rows: [profile] } = await sql<{ id: string }>`insert into user_profiles (clerk_user_id, handle, display_name) values ('user_x', 'reader_x1', 'X') returning id`.execute(db)
  const { rows: [story] } = await sql<{ id: string }>`insert into stories (author_id, title) values (${profile?.id}, 'A story') returning id`.execute(db)
  // Every other value is valid, so only the named check constraint can refuse the row.
  for (const [what, constraint, statement] of [
    ['a handle with capitals', 'user_profiles_handle_format', sql`insert into user_profiles (clerk_user_id, handle, display_name) values ('user_y', 'Reader', 'Y')`],
    ['an empty title', 'stories_title_length', sql`insert into stories (author_id, title) values (${profile?.id}, '')`],
    ['a chapter position of 0', 'chapters_position_positive', sql`insert into chapters (story_id, position, title, content) values (${story?.id}, 0, 't', 'c')`],
    ['an unknown role', 'moderator_roles_role', sql`insert into moderator_roles (user_id, role) values (${profile?.id}, 'owner')`]
  ] as const) {
    await t.rejects(statement.execute(db), { code: '23514', constraint }, `the database refuses ${what} with ${constraint}`)
  }
  await sql`insert into chapters (story_id, position, title, content) values (${story?.id}, 1, 't', 'c')`.execute(db)
  const { rows: chapters } = await sql<{ position: number }>`select position from chapters`.execute(db)
  t.same(chapters, [{ position: 1 }], 'the same chapter at position 1 is stored, and only it')
})

t.test('a failed migration is reported and the process exits non-zero', async (t) => {
  const database = await createTestDatabase(t, 'api_migrate_fail')
  const db = inspectDatabase(t, database.url)
  await sql`create table stories (id int)`.execute(db)
  await t.rejects(migrateToLatest(db), { message: 'database migration failed', cause: { message: /already exists/ } })
  const failed = await run(process.execPath, [migrateScript], { env: { ...process.env, DATABASE_URL: database.url, NODE_ENV: 'test' } }).catch((error: { code: number, stdout: string }) => error)
  t.equal((failed as { code: number }).code, 1)
  t.match((failed as { stdout: string }).stdout, /migration failed/)
  const invalid = await run(process.execPath, [migrateScript], { env: { ...process.env, DATABASE_URL: 'mysql://nope', NODE_ENV: 'test' } }).catch((error: { code: number, stderr: string }) => error)
  t.equal((invalid as { code: number }).code, 78, 'a bad configuration exits with EX_CONFIG')
  t.match((invalid as { stderr: string }).stderr, /DATABASE_URL/)
})

t.test('the down migrations, run to the start, remove every table', async (t) => {
  const database = await createTestDatabase(t, 'api_migrate_down')
  const db = inspectDatabase(t, database.url)
  await migrateToLatest(db)
  const { Migrator, NO_MIGRATIONS } = await import('kysely')
  const { migrationProvider } = await import('../src/db/migration-provider.js')
  const { error, results } = await new Migrator({ db, provider: migrationProvider }).migrateTo(NO_MIGRATIONS)
  t.equal(error, undefined)
  t.same(results?.map((result) => [result.migrationName, result.direction, result.status]), [
    ['20261201120100_stories_by_author_created', 'Down', 'Success'],
    ['20261201120000_deferrable_chapter_positions', 'Down', 'Success'],
    ['20261127120000_initial_schema', 'Down', 'Success']
  ])
  const tables = await sql<{ name: string }>`select table_name as name from information_schema.tables where table_schema = 'public' and table_name not like 'kysely%'`.execute(db)
  t.same(tables.rows, [])
})

t.test('when the database cannot be reached the API answers 503 problem+json with Retry-After, no internals', async (t) => {
  const app = await build(t, { DATABASE_URL: 'postgres://postgres@127.0.0.1:1/nothing', DB_CONNECT_TIMEOUT_MS: '2000' })
  const response = await app.inject('/v1/stories')
  t.equal(response.statusCode, 503)
  t.equal(response.headers['retry-after'], '1')
  t.equal(response.headers['content-type'], 'application/problem+json; charset=utf-8')
  t.match(response.json(), { code: 'db_unavailable', status: 503, detail: 'The database is busy or unreachable; try again shortly.' })
  t.notMatch(response.body, /ECONNREFUSED|127\.0\.0\.1|postgres:/)
})
