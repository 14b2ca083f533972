import type { Knex } from "knex";

/**
 * What the paged lists order and filter by, each behind an index (lib/database/keyset.ts):
 * tickets by confirmation time, with their booking and show; shows by start time; ops bookings by
 * booking time, with their show and the UTC days their receipts were issued, taken out of the JSON
 * document so they can be indexed.
 */
export async function up(knex: Knex): Promise<void> {
  await knex.raw(`
    ALTER TABLE tickets
      ADD COLUMN confirmed_at TIMESTAMPTZ NOT NULL DEFAULT clock_timestamp(),
      ADD COLUMN booking_id UUID NULL,
      ADD COLUMN show_id UUID NULL;
    UPDATE tickets SET booking_id = r.booking_id
      FROM read_model_ops_bookings r, jsonb_object_keys(r.payload->'tickets') AS held(ticket_id)
      WHERE held.ticket_id::uuid = tickets.ticket_id;
    UPDATE tickets SET show_id = b.show_id FROM bookings b WHERE b.booking_id = tickets.booking_id;
    CREATE INDEX tickets_by_confirmation ON tickets (confirmed_at, ticket_id) WHERE deleted_at IS NULL;
    CREATE INDEX tickets_canceled_by_confirmation ON tickets (confirmed_at, ticket_id) WHERE deleted_at IS NOT NULL;
    CREATE INDEX tickets_by_show ON tickets (show_id, confirmed_at, ticket_id);
    CREATE INDEX tickets_by_booking ON tickets (booking_id, confirmed_at, ticket_id);
    CREATE INDEX tickets_by_customer ON tickets (lower(customer_email), confirmed_at, ticket_id);

    DROP INDEX shows_start_time;
    CREATE INDEX shows_by_start_time ON shows (start_time, show_id);
  `);
  for (const table of ["read_model_ops_bookings", "read_model_ops_bookings_rebuild"]) {
    if (!(await knex.schema.hasTable(table))) continue;
    await knex.raw(
      `
      ALTER TABLE ?? ADD COLUMN booked_at TIMESTAMPTZ NULL, ADD COLUMN show_id UUID NULL, ADD COLUMN receipt_dates DATE[] NOT NULL DEFAULT '{}';
      UPDATE ?? SET booked_at = (payload->>'booked_at')::timestamptz,
        receipt_dates = ARRAY(
          SELECT DISTINCT left(t.ticket->>'receipt_issued_at', 10)::date FROM jsonb_each(payload->'tickets') AS t(ticket_id, ticket)
          WHERE t.ticket->>'receipt_issued_at' <> '0001-01-01T00:00:00Z');
      UPDATE ?? SET show_id = b.show_id FROM bookings b WHERE b.booking_id = ??.booking_id;
      ALTER TABLE ?? ALTER COLUMN booked_at SET NOT NULL;
      CREATE INDEX ON ?? (booked_at, booking_id);
      CREATE INDEX ON ?? (show_id, booked_at, booking_id);
      CREATE INDEX ON ?? USING GIN (receipt_dates);
    `,
      [table, table, table, table, table, table, table, table],
    );
  }
}

export async function down(knex: Knex): Promise<void> {
  for (const table of ["read_model_ops_bookings", "read_model_ops_bookings_rebuild"]) {
    if (await knex.schema.hasTable(table))
      await knex.raw(`ALTER TABLE ?? DROP COLUMN booked_at, DROP COLUMN show_id, DROP COLUMN receipt_dates`, [table]);
  }
  await knex.raw(`
    DROP INDEX shows_by_start_time;
    CREATE INDEX shows_start_time ON shows (start_time);
    DROP INDEX tickets_by_confirmation, tickets_canceled_by_confirmation, tickets_by_show, tickets_by_booking, tickets_by_customer;
    ALTER TABLE tickets DROP COLUMN confirmed_at, DROP COLUMN booking_id, DROP COLUMN show_id;
  `);
}
