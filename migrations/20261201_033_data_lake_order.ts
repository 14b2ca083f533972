import type { Knex } from "knex";

/**
 * The data lake's own insertion order, for the ops read-model rebuild (services/ops.read-model.ts):
 * `tx`, the inserting transaction's id, and `seq` within it. Every transaction with an id below the
 * oldest one still running has ended, so the rows below that horizon never change any more: a
 * replay ordered by (tx, seq) up to it can checkpoint without passing a row that commits later. The
 * writer's `published_at` cannot serve: an event stamped early can reach the lake late.
 */
export async function up(knex: Knex): Promise<void> {
  await knex.raw(`
    ALTER TABLE events
      ADD COLUMN tx xid8 NOT NULL DEFAULT pg_current_xact_id(),
      ADD COLUMN seq BIGSERIAL;
    CREATE INDEX events_lake_order ON events (tx, seq);

    -- a run checkpointed by published_at cannot resume by lake order: it starts over
    DELETE FROM ops_read_model_rebuilds;
    ALTER TABLE ops_read_model_rebuilds
      DROP COLUMN cutoff,
      DROP COLUMN last_published_at,
      DROP COLUMN last_event_id,
      -- rows inserted by transactions below this id are replayed in order, the rest at the end
      ADD COLUMN cutoff_tx xid8 NOT NULL,
      ADD COLUMN last_tx xid8 NULL,
      ADD COLUMN last_seq BIGINT NULL;
  `);
}

export async function down(knex: Knex): Promise<void> {
  await knex.raw(`
    DELETE FROM ops_read_model_rebuilds;
    ALTER TABLE ops_read_model_rebuilds
      DROP COLUMN cutoff_tx, DROP COLUMN last_tx, DROP COLUMN last_seq,
      ADD COLUMN cutoff TIMESTAMP NOT NULL, ADD COLUMN last_published_at TIMESTAMP NULL, ADD COLUMN last_event_id UUID NULL;
    DROP INDEX events_lake_order;
    ALTER TABLE events DROP COLUMN tx, DROP COLUMN seq;
  `);
}
