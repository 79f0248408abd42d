import { sql, type Kysely } from 'kysely'

/**
 * Removing a chapter moves every later one up a position in one UPDATE. A plain unique
 * constraint is checked row by row, so position 4 moving to 3 before 3 has moved to 2 would
 * collide; a deferrable one (still checked at the end of each statement, not at commit) sees
 * only the result. Its index still reads a story's chapters in order.
 */
export async function up (db: Kysely<unknown>): Promise<void> {
  await sql`alter table chapters
    drop constraint chapters_story_id_position_key,
    add constraint chapters_story_id_position_key unique (story_id, position) deferrable initially immediate`.execute(db)
}

export async function down (db: Kysely<unknown>): Promise<void> {
  await sql`alter table chapters
    drop constraint chapters_story_id_position_key,
    add constraint chapters_story_id_position_key unique (story_id, position)`.execute(db)
}
