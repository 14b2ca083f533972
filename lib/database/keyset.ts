import type { Knex } from "knex";
import type { PageQuery } from "../../contracts/http.ts";
import { decodeCursor, SORT_TIME_FORMAT, type Position } from "../http/pagination.ts";

/** How a list is ordered: a time column and the id that breaks its ties, both behind one index. */
export interface KeysetOrder {
  time: string;
  id: string;
  /** SQL type of the time column, for the cursor's value: "timestamptz", or "timestamp" for UTC wall time. */
  timeType: "timestamptz" | "timestamp";
  direction: "asc" | "desc";
}

/** The column that carries each row's position, for `positionOf`. */
const SORT_KEY = "page_sort_key";

/**
 * Narrows a query to one keyset page: ordered by (time, id), after the cursor's position, `limit + 1`
 * rows (the extra one tells whether a next page exists). A row-value comparison, so Postgres walks
 * the (time, id) index from the position instead of counting an offset.
 */
export function keysetPage(query: Knex.QueryBuilder, db: Knex, order: KeysetOrder, page: PageQuery): Knex.QueryBuilder {
  const { time, id, timeType, direction } = order;
  const toText = timeType === "timestamptz" ? `${time} AT TIME ZONE 'UTC'` : time;
  query.select(db.raw(`to_char(${toText}, '${SORT_TIME_FORMAT}') AS ${SORT_KEY}`));
  if (page.cursor) {
    const after = decodeCursor(page.cursor);
    const castTime = timeType === "timestamptz" ? "?::timestamptz" : "(?::timestamptz AT TIME ZONE 'UTC')";
    query.whereRaw(`(${time}, ${id}) ${direction === "asc" ? ">" : "<"} (${castTime}, ?::uuid)`, [after.sort, after.id]);
  }
  return query
    .orderBy([
      { column: time, order: direction },
      { column: id, order: direction },
    ])
    .limit(page.limit + 1);
}

/** The position of a row read through `keysetPage`. */
export function positionOf<R extends object>(idColumn: keyof R & string) {
  return (row: R): Position => ({ sort: String((row as Record<string, unknown>)[SORT_KEY]), id: String(row[idColumn]) });
}
