import type { Knex } from "knex";

/** What housekeeping (lib/housekeeping/) finds expired rows by, instead of a sequential scan per batch. */
export async function up(knex: Knex): Promise<void> {
  await knex.raw(`
    CREATE INDEX idempotency_keys_created_at ON idempotency_keys (created_at);
    -- implicit per-request keys expire much sooner than a client's keys
    CREATE INDEX idempotency_keys_implicit_created_at ON idempotency_keys (created_at) WHERE scope LIKE '%:request';
    CREATE INDEX processed_messages_processed_at ON processed_messages (processed_at);
  `);
}

export async function down(knex: Knex): Promise<void> {
  await knex.raw(`DROP INDEX idempotency_keys_created_at, idempotency_keys_implicit_created_at, processed_messages_processed_at`);
}
