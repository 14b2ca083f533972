import { LRUCache } from "lru-cache";
import type { BookTicketsRequest } from "../contracts/http.ts";
import type { Transaction } from "../lib/database/db.ts";

/** Seats still free per show, for the shows that exist. */
export type FreeSeats = Map<string, number>;

/**
 * Locks the shows' rows until the commit and reads their free seats. The rows are locked in
 * show_id order by the inner SELECT, so batches of different nodes that share shows never
 * deadlock; the lock is FOR NO KEY UPDATE, the one the seat UPDATE takes anyway, so bookings'
 * foreign-key checks (KEY SHARE) never wait on it. The statement is an UPDATE that changes
 * nothing, so whoever watches for booking statements waiting on a show sees it as the seat UPDATE.
 */
export async function lockShows(trx: Transaction, showIds: string[]): Promise<FreeSeats> {
  if (showIds.length === 0) return new Map();
  const { rows } = await trx.raw(
    `update "shows" SET booked = shows.booked
       FROM (SELECT show_id FROM shows WHERE show_id = ANY(?::uuid[]) ORDER BY show_id FOR NO KEY UPDATE) AS locked
      WHERE shows.show_id = locked.show_id
  RETURNING shows.show_id, shows.number_of_tickets - shows.booked AS free`,
    [showIds],
  );
  return new Map(rows.map((row: { show_id: string; free: number }) => [row.show_id, row.free]));
}

/** Adds the seats taken to each show with one UPDATE; the CHECK on shows is the backstop against oversell. */
export async function addSeats(trx: Transaction, taken: Map<string, number>): Promise<void> {
  if (taken.size === 0) return;
  const values = [...taken].map(() => "(?::uuid, ?::int)").join(", ");
  await trx.raw(
    `UPDATE shows SET booked = shows.booked + v.seats FROM (VALUES ${values}) AS v(show_id, seats) WHERE shows.show_id = v.show_id`,
    [...taken].flat(),
  );
}

export interface NewBooking extends BookTicketsRequest {
  booking_id: string;
}

/** Inserts the bookings with one INSERT; their shows are locked and exist. */
export async function insertBookings(trx: Transaction, rows: NewBooking[]): Promise<void> {
  if (rows.length === 0) return;
  await trx("bookings").insert(
    rows.map(({ booking_id, show_id, number_of_tickets, customer_email }) => ({ booking_id, show_id, number_of_tickets, customer_email })),
  );
}

/** The Dead Nation event id of a show, or undefined when there is no such show. */
export async function deadNationEventOf(trx: Transaction, showId: string): Promise<string | undefined> {
  const show = await trx("shows").select("dead_nation_id").where("show_id", showId).first();
  return show?.dead_nation_id;
}

/**
 * `deadNationEventOf`, asked of Postgres once per show: no path changes a show's dead_nation_id
 * once the show exists, and an on-sale books the same few shows thousands of times.
 */
export class DeadNationEvents {
  private readonly known = new LRUCache<string, string>({ max: 10_000 });

  async of(trx: Transaction, showId: string): Promise<string | undefined> {
    const cached = this.known.get(showId);
    if (cached !== undefined) return cached;
    const eventId = await deadNationEventOf(trx, showId);
    if (eventId !== undefined) this.known.set(showId, eventId);
    return eventId;
  }
}
