import { sql, type Kysely } from 'kysely'

const timestamp = sql`timestamptz(3)`

/**
 * The four tables the API README lists under Data. Timestamps keep milliseconds (what JSON
 * carries), so a pagination cursor made from a row finds that row again exactly.
 */
export async function up (db: Kysely<unknown>): Promise<void> {
  await db.schema.createTable('user_profiles')
    .addColumn('id', 'uuid', (column) => column.primaryKey().defaultTo(sql`gen_random_uuid()`))
    .addColumn('clerk_user_id', 'text', (column) => column.notNull().unique())
    .addColumn('handle', 'text', (column) => column.notNull().unique())
    .addColumn('display_name', 'text', (column) => column.notNull())
    .addColumn('created_at', timestamp, (column) => column.notNull().defaultTo(sql`now()`))
    .addColumn('updated_at', timestamp, (column) => column.notNull().defaultTo(sql`now()`))
    .addCheckConstraint('user_profiles_clerk_user_id_length', sql`char_length(clerk_user_id) between 1 and 255`)
    .addCheckConstraint('user_profiles_handle_format', sql`handle ~ '^[a-z0-9_]{3,40}$'`)
    .addCheckConstraint('user_profiles_display_name_length', sql`char_length(display_name) between 1 and 100`)
    .execute()

  await db.schema.createTable('stories')
    .addColumn('id', 'uuid', (column) => column.primaryKey().defaultTo(sql`gen_random_uuid()`))
    .addColumn('author_id', 'uuid', (column) => column.notNull().references('user_profiles.id'))
    .addColumn('title', 'text', (column) => column.notNull())
    .addColumn('description', 'text')
    .addColumn('published_at', timestamp)
    .addColumn('created_at', timestamp, (column) => column.notNull().defaultTo(sql`now()`))
    .addColumn('updated_at', timestamp, (column) => column.notNull().defaultTo(sql`now()`))
    .addColumn('deleted_at', timestamp)
    .addCheckConstraint('stories_title_length', sql`char_length(title) between 1 and 200`)
    .addCheckConstraint('stories_description_length', sql`char_length(description) <= 5000`)
    .execute()
  // The public feed: published, not deleted, newest first, keyset-paginated on (published_at, id).
  await db.schema.createIndex('stories_feed_idx').on('stories')
    .columns(['published_at desc', 'id desc'])
    .where(sql.ref('published_at'), 'is not', null)
    .where(sql.ref('deleted_at'), 'is', null)
    .execute()
  await db.schema.createIndex('stories_author_id_idx').on('stories').column('author_id').execute()

  await db.schema.createTable('chapters')
    .addColumn('id', 'uuid', (column) => column.primaryKey().defaultTo(sql`gen_random_uuid()`))
    .addColumn('story_id', 'uuid', (column) => column.notNull().references('stories.id').onDelete('cascade'))
    .addColumn('position', 'integer', (column) => column.notNull())
    .addColumn('title', 'text', (column) => column.notNull())
    .addColumn('content', 'text', (column) => column.notNull())
    .addColumn('created_at', timestamp, (column) => column.notNull().defaultTo(sql`now()`))
    .addColumn('updated_at', timestamp, (column) => column.notNull().defaultTo(sql`now()`))
    // Also the index that reads a story's chapters in order.
    .addUniqueConstraint('chapters_story_id_position_key', ['story_id', 'position'])
    .addCheckConstraint('chapters_position_positive', sql`position > 0`)
    .addCheckConstraint('chapters_title_length', sql`char_length(title) between 1 and 200`)
    .addCheckConstraint('chapters_content_length', sql`char_length(content) <= 200000`)
    .execute()

  await db.schema.createTable('moderator_roles')
    .addColumn('id', 'uuid', (column) => column.primaryKey().defaultTo(sql`gen_random_uuid()`))
    .addColumn('user_id', 'uuid', (column) => column.notNull().references('user_profiles.id').onDelete('cascade'))
    .addColumn('role', 'text', (column) => column.notNull())
    .addColumn('is_active', 'boolean', (column) => column.notNull().defaultTo(true))
    .addColumn('created_at', timestamp, (column) => column.notNull().defaultTo(sql`now()`))
    .addUniqueConstraint('moderator_roles_user_id_role_key', ['user_id', 'role'])
    .addCheckConstraint('moderator_roles_role', sql`role in ('moderator', 'admin')`)
    .execute()
  await db.schema.createIndex('moderator_roles_active_user_idx').on('moderator_roles').column('user_id')
    .where(sql.ref('is_active'), '=', true)
    .execute()
}

export async function down (db: Kysely<unknown>): Promise<void> {
  await db.schema.dropTable('moderator_roles').execute()
  await db.schema.dropTable('chapters').execute()
  await db.schema.dropTable('stories').execute()
  await db.schema.dropTable('user_profiles').execute()
}
