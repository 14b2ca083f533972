import type { Knex } from "knex";

/**
 * Which booking each ticket of the ops read model belongs to, as its confirmation named it: a ticket
 * event finds its booking's document by key instead of scanning every document's tickets. Filled
 * from the documents already stored (the live read model and a rebuild in progress).
 */
export async function up(knex: Knex): Promise<void> {
  await knex.raw(`CREATE TABLE ops_ticket_bookings (ticket_id TEXT PRIMARY KEY, booking_id UUID NOT NULL)`);
  for (const table of ["read_model_ops_bookings", "read_model_ops_bookings_rebuild"]) {
    if (!(await knex.schema.hasTable(table))) continue;
    await knex.raw(
      `INSERT INTO ops_ticket_bookings (ticket_id, booking_id)
         SELECT DISTINCT ON (held.ticket_id) held.ticket_id, b.booking_id
         FROM ?? b, jsonb_object_keys(b.payload->'tickets') AS held(ticket_id)
         ORDER BY held.ticket_id, b.booking_id
       ON CONFLICT (ticket_id) DO NOTHING`,
      [table],
    );
  }
}

export async function down(knex: Knex): Promise<void> {
  await knex.raw(`DROP TABLE ops_ticket_bookings`);
}
