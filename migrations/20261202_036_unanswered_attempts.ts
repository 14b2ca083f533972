import type { Knex } from "knex";

/**
 * When an attempt's partner call went unanswered (timed out, or the connection broke after sending),
 * the partner may still be applying that request. The next attempt of the same effect waits until
 * `GATEWAY_SETTLE_MS` after this time before it reads the partner back or calls again.
 */
export async function up(knex: Knex): Promise<void> {
  await knex.raw(`ALTER TABLE handler_attempts ADD COLUMN unanswered_at TIMESTAMPTZ NULL`);
}

export async function down(knex: Knex): Promise<void> {
  await knex.raw(`ALTER TABLE handler_attempts DROP COLUMN unanswered_at`);
}
