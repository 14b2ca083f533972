import type { Knex } from "knex";

/**
 * Attempts of a handler's effect that have not committed yet, keyed like its inbox (handler, key):
 * written before the attempt's transaction and deleted by its commit, so a row left behind tells any
 * later attempt — a redelivery or another copy of the message, on any node — that an earlier one may
 * have reached the gateway before it died (mixins/consumer.mixin.ts, `recordAttempts`).
 */
export async function up(knex: Knex): Promise<void> {
  await knex.raw(`
    CREATE TABLE handler_attempts (
      handler TEXT NOT NULL,
      key TEXT NOT NULL,
      -- what the first attempt chose for the gateway (e.g. its receipt key); later attempts reuse it
      memo TEXT NULL,
      first_attempt_at TIMESTAMPTZ NOT NULL DEFAULT now(),
      PRIMARY KEY (handler, key)
    );
  `);
}

export async function down(knex: Knex): Promise<void> {
  await knex.raw(`DROP TABLE handler_attempts`);
}
