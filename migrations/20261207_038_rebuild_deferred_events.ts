import type { Knex } from "knex";

/**
 * The lake events an ops read model rebuild has put off because their booking or ticket was not in
 * the new table yet (the lake's insertion order is not the order the events happened in): kept with
 * the checkpoint, so a resumed rebuild still applies them once what they need arrives.
 */
export async function up(knex: Knex): Promise<void> {
  await knex.raw(`ALTER TABLE ops_read_model_rebuilds ADD COLUMN deferred_event_ids UUID[] NOT NULL DEFAULT '{}'`);
}

export async function down(knex: Knex): Promise<void> {
  await knex.raw(`ALTER TABLE ops_read_model_rebuilds DROP COLUMN deferred_event_ids`);
}
