import type pg from 'pg'

/*
 * What "no row changed" is measured by: per table, the row count and an md5 over every row
 * version's identity (`ctid`, `xmin`). PostgreSQL writes a new row version, with a new
 * `ctid` and `xmin`, for every insert and update (even one that stores the same values), so
 * this sees any write, as a checksum of the rows' text would, without reading every
 * chapter's content after each request.
 */

export type RowSnapshot = Record<string, { rows: number, checksum: string }>

export interface RowSnapshots {
  readonly tables: readonly string[]
  take(): Promise<RowSnapshot>
}

/** Every table of the public schema, measured in one query. */
export async function rowSnapshots (client: pg.Client): Promise<RowSnapshots> {
  const { rows } = await client.query<{ name: string }>(
    `select table_name as name from information_schema.tables
     where table_schema = 'public' and table_type = 'BASE TABLE' order by table_name`
  )
  const tables = rows.map((row) => row.name)
  const query = tables.map((table) => `select ${client.escapeLiteral(table)} as name, count(*)::int as rows,
    md5(coalesce(string_agg(ctid::text || ':' || xmin::text, ',' order by ctid), '')) as checksum
    from ${client.escapeIdentifier(table)}`).join('\nunion all\n')
  return {
    tables,
    async take () {
      const result = await client.query<{ name: string, rows: number, checksum: string }>(query)
      return Object.fromEntries(result.rows.map(({ name, rows, checksum }) => [name, { rows, checksum }]))
    }
  }
}

/** The tables whose count or checksum differ, as `name: rows before → after`. */
export function changedTables (before: RowSnapshot, after: RowSnapshot): string[] {
  return Object.keys({ ...before, ...after }).filter((name) => before[name]?.checksum !== after[name]?.checksum ||
    before[name]?.rows !== after[name]?.rows).map((name) => `${name}: ${before[name]?.rows ?? 0} rows → ${after[name]?.rows ?? 0}`)
}
