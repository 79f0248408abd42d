import { sql, type Kysely } from 'kysely'

/**
 * `GET /v1/me/stories` pages an author's stories, not deleted, on (created_at, id), newest
 * first. This index serves that keyset and, by its leading column, every lookup the plain
 * author index served, which it replaces.
 */
export async function up (db: Kysely<unknown>): Promise<void> {
  await db.schema.createIndex('stories_author_created_idx').on('stories')
    .columns(['author_id', 'created_at desc', 'id desc'])
    .where(sql.ref('deleted_at'), 'is', null)
    .execute()
  await db.schema.dropIndex('stories_author_id_idx').execute()
}

export async function down (db: Kysely<unknown>): Promise<void> {
  await db.schema.createIndex('stories_author_id_idx').on('stories').column('author_id').execute()
  await db.schema.dropIndex('stories_author_created_idx').execute()
}
