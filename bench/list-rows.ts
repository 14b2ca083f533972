import type { Knex } from "knex";

/**
 * Adds `count` confirmed tickets in one statement, as StoreTicket stores them (confirmation times
 * a millisecond apart, after every ticket already there), with 100 customers, then refreshes the
 * planner's statistics as autovacuum would.
 */
export async function insertTickets(db: Knex, count: number): Promise<void> {
  await db.raw(
    `INSERT INTO tickets (ticket_id, price_amount, price_currency, customer_email, confirmed_at)
     SELECT gen_random_uuid(), 49.90, 'EUR', 'customer' || (n % 100) || '@example.com',
            coalesce((SELECT max(confirmed_at) FROM tickets), now()) + n * interval '1 millisecond'
     FROM generate_series(1, ?) AS n`,
    [count],
  );
  await db.raw("ANALYZE tickets");
}
