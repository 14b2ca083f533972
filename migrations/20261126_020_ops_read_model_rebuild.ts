import type { Knex } from "knex";

/** Checkpoint of a data-lake replay into a fresh ops read model (services/ops.read-model.ts), so it can resume. */
export async function up(knex: Knex): Promise<void> {
  await knex.raw(`
    CREATE TABLE ops_read_model_rebuilds (
      target TEXT PRIMARY KEY,
      -- same clock as events.published_at: UTC wall time
      cutoff TIMESTAMP NOT NULL,
      last_published_at TIMESTAMP NULL,
      last_event_id UUID NULL,
      applied INT NOT NULL DEFAULT 0,
      skipped INT NOT NULL DEFAULT 0,
      started_at TIMESTAMPTZ NOT NULL DEFAULT now(),
      finished_at TIMESTAMPTZ NULL
    );
  `);
}

export async function down(knex: Knex): Promise<void> {
  await knex.raw(`DROP TABLE ops_read_model_rebuilds`);
}
