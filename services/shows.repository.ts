import { randomUUID } from "node:crypto";
import type { CreateShowRequest, ShowsQuery, ShowView } from "../contracts/http.ts";
import type { Database, Transaction } from "../lib/database/db.ts";
import { keysetPage, positionOf } from "../lib/database/keyset.ts";
import { cutPage, type Page } from "../lib/http/pagination.ts";

/** start_time is TIMESTAMP (no zone) holding UTC wall time; this reads it back as an instant. */
const startTimeUtc = "start_time AT TIME ZONE 'UTC' AS start_time";

/** Inserts a show; undefined when its dead_nation_id is taken already. */
export async function create(trx: Transaction, show: CreateShowRequest): Promise<string | undefined> {
  const inserted = await trx("shows")
    .insert({
      show_id: randomUUID(),
      dead_nation_id: show.dead_nation_id,
      number_of_tickets: show.number_of_tickets,
      // Postgres drops the offset of a value cast to TIMESTAMP, so convert to UTC wall time first.
      start_time: new Date(show.start_time).toISOString().replace("Z", ""),
      title: show.title,
      venue: show.venue,
    })
    .onConflict("dead_nation_id")
    .ignore()
    .returning("show_id");
  return inserted[0]?.show_id;
}

const showColumns = (db: Database) => ["show_id", "dead_nation_id", "number_of_tickets", "booked", "title", "venue", db.raw(startTimeUtc)];

/** One page of shows by start time (index shows_by_start_time); `upcoming`: only those still to start. */
export async function listPage(db: Database, query: ShowsQuery): Promise<Page<ShowView>> {
  const select = db("shows").select(showColumns(db));
  if (query.upcoming) select.whereRaw("shows.start_time > (now() AT TIME ZONE 'UTC')");
  const rows = await keysetPage(select, db, { time: "shows.start_time", id: "show_id", timeType: "timestamp", direction: "asc" }, query);
  return cutPage(rows, query.limit, toShowView, positionOf("show_id"));
}

export async function get(db: Database, showId: string): Promise<ShowView | undefined> {
  const row = await db("shows").select(showColumns(db)).where("show_id", showId).first();
  return row ? toShowView(row) : undefined;
}

interface ShowRow {
  show_id: string;
  dead_nation_id: string;
  number_of_tickets: number;
  booked: number;
  start_time: Date;
  title: string;
  venue: string;
}

function toShowView(row: ShowRow): ShowView {
  return {
    show_id: row.show_id,
    dead_nation_id: row.dead_nation_id,
    number_of_tickets: row.number_of_tickets,
    start_time: row.start_time.toISOString(),
    title: row.title,
    venue: row.venue,
    available_tickets: row.number_of_tickets - row.booked,
  };
}
