import type { Knex } from "knex";

/**
 * A ticket is refunded by one path only: on the customer's request (void + payment refund) or, once
 * the partner canceled it, through the tickets-to-refund sheet. Whichever handler claims the ticket
 * first (in the transaction of its gateway calls) wins; the other finds the claim and does nothing.
 *
 * handler_attempts counts the attempts still open: an attempt that ended in a clean refusal (the
 * partner provably did nothing) closes itself, so only attempts in doubt stay counted.
 */
export async function up(knex: Knex): Promise<void> {
  await knex.raw(`
    CREATE TABLE ticket_refund_claims (
      ticket_id UUID PRIMARY KEY,
      via TEXT NOT NULL CHECK (via IN ('refund_request', 'cancellation')),
      claimed_at TIMESTAMPTZ NOT NULL DEFAULT now()
    );
    ALTER TABLE handler_attempts ADD COLUMN open_attempts INT NOT NULL DEFAULT 1;
  `);
}

export async function down(knex: Knex): Promise<void> {
  await knex.raw(`
    ALTER TABLE handler_attempts DROP COLUMN open_attempts;
    DROP TABLE ticket_refund_claims;
  `);
}
