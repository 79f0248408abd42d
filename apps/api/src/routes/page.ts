/**
 * A keyset page from `rows` fetched as `limit + 1`: the first `limit` as items, and the cursor
 * after the last of them when the extra row shows that more follow.
 */
export function pageOf<Row, Item> (rows: readonly Row[], limit: number, toItem: (row: Row) => Item, cursorAfter: (last: Row) => string) {
  const page = rows.slice(0, limit)
  const last = page[page.length - 1]
  return {
    items: page.map(toItem),
    next_cursor: rows.length > limit && last !== undefined ? cursorAfter(last) : null
  }
}
