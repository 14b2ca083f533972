import type { Knex } from "knex";

/**
 * Tickets confirmed without a booking (a partner's or operator's confirmation naming none): the ops
 * read model has no document for them, and their later events are skipped instead of retried.
 */
export async function up(knex: Knex): Promise<void> {
  await knex.raw(`
    CREATE TABLE ops_tickets_without_booking (
      ticket_id TEXT PRIMARY KEY,
      recorded_at TIMESTAMPTZ NOT NULL DEFAULT now()
    );
  `);
}

export async function down(knex: Knex): Promise<void> {
  await knex.raw(`DROP TABLE ops_tickets_without_booking`);
}
