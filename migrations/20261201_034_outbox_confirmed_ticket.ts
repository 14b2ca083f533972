import type { Knex } from "knex";

/**
 * Confirmations waiting in the outbox by ticket id: a refund for a ticket StoreTicket has not
 * written yet asks "is it being stored?" (services/refunds.repository.ts) with one index probe
 * instead of scanning recent payloads. Ids are compared lower-case, as the refunds service keys them.
 */
export async function up(knex: Knex): Promise<void> {
  await knex.raw(`
    CREATE INDEX outbox_confirmed_ticket ON outbox (lower(payload::jsonb->>'ticket_id'))
      WHERE name = 'TicketBookingConfirmed_v1';
  `);
}

export async function down(knex: Knex): Promise<void> {
  await knex.raw(`DROP INDEX outbox_confirmed_ticket`);
}
