import type { Database } from "../../lib/database/db.ts";

const at = (expression: string) => `to_char((${expression}) AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS"Z"')`;

/**
 * Inserts a season's worth of rows in a few statements, shaped as the services store them: one
 * upcoming show, `bookings` bookings one second apart (the first `doubles` with two tickets, the
 * rest with one), their tickets, and their ops read-model documents, printed and receipted.
 */
export async function insertSeason(
  db: Database,
  {
    bookings,
    doubles,
    title = "Season finale",
    domain = "example.com",
  }: { bookings: number; doubles: number; title?: string; domain?: string },
): Promise<string> {
  const tickets = bookings + doubles;
  const { rows } = await db.raw(
    `INSERT INTO shows (show_id, dead_nation_id, number_of_tickets, booked, start_time, title, venue)
     VALUES (gen_random_uuid(), gen_random_uuid(), ?, ?, (now() + interval '30 days') AT TIME ZONE 'UTC', ?, 'Big Hall')
     RETURNING show_id`,
    [tickets + 100, tickets, title],
  );
  const showId: string = rows[0].show_id;
  await db.transaction(async (trx) => {
    await trx.raw(
      `CREATE TEMP TABLE season ON COMMIT DROP AS
         SELECT gen_random_uuid() AS ticket_id, b.booking_id, b.n, b.booked_at
         FROM (SELECT gen_random_uuid() AS booking_id, n, now() - interval '1 day' + n * interval '1 second' AS booked_at
               FROM generate_series(1, ?) AS n) b,
              generate_series(1, 2) AS copy
         WHERE copy = 1 OR b.n <= ?`,
      [bookings, doubles],
    );
    await trx.raw(
      `INSERT INTO bookings (booking_id, show_id, number_of_tickets, customer_email, created_at)
       SELECT booking_id, ?, count(*), 'customer' || n || '@' || ?::text, booked_at FROM season GROUP BY booking_id, n, booked_at`,
      [showId, domain],
    );
    await trx.raw(
      `INSERT INTO tickets (ticket_id, price_amount, price_currency, customer_email, confirmed_at, booking_id, show_id)
       SELECT ticket_id, 49.90, 'EUR', 'customer' || n || '@' || ?::text, booked_at + interval '1 second', booking_id, ? FROM season`,
      [domain, showId],
    );
    await trx.raw(
      `INSERT INTO read_model_ops_bookings (booking_id, payload, booked_at, show_id, receipt_dates)
       SELECT booking_id,
              jsonb_build_object('booking_id', booking_id, 'booked_at', ${at("booked_at")}, 'last_update', ${at("booked_at")},
                'tickets', jsonb_object_agg(ticket_id, jsonb_build_object(
                  'price_amount', '49.90', 'price_currency', 'EUR', 'customer_email', 'customer' || n || '@' || ?::text,
                  'confirmed_at', ${at("booked_at + interval '1 second'")},
                  'printed_at', ${at("booked_at + interval '3 seconds'")}, 'printed_file_name', ticket_id || '-ticket.html',
                  'receipt_issued_at', ${at("booked_at + interval '5 seconds'")}, 'receipt_number', 'R-' || ticket_id,
                  'refunded_at', '0001-01-01T00:00:00Z', 'canceled_at', '0001-01-01T00:00:00Z'))),
              booked_at, ?, ARRAY[(booked_at + interval '5 seconds') AT TIME ZONE 'UTC']::date[]
       FROM season GROUP BY booking_id, n, booked_at`,
      [domain, showId],
    );
  });
  return showId;
}
