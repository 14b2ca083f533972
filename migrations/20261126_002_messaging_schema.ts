import type { Knex } from "knex";

/** Tables of the messaging backbone: outbox, inbox, HTTP idempotency records, dead letters. */
export async function up(knex: Knex): Promise<void> {
  await knex.raw(`
    CREATE TABLE outbox (
      seq BIGSERIAL PRIMARY KEY,
      message_id UUID NOT NULL UNIQUE,
      kind TEXT NOT NULL CHECK (kind IN ('event', 'command')),
      name TEXT NOT NULL,
      subject TEXT NOT NULL,
      -- text, not jsonb: the bytes published are exactly the bytes written
      payload TEXT NOT NULL,
      metadata JSONB NOT NULL DEFAULT '{}',
      created_at TIMESTAMPTZ NOT NULL DEFAULT clock_timestamp(),
      published_at TIMESTAMPTZ NULL,
      attempts INT NOT NULL DEFAULT 0,
      last_error TEXT NULL
    );
    CREATE INDEX outbox_pending ON outbox (seq) WHERE published_at IS NULL;
    CREATE INDEX outbox_published ON outbox (published_at) WHERE published_at IS NOT NULL;

    -- one NOTIFY per inserting statement wakes the relays when the transaction commits
    CREATE FUNCTION outbox_notify() RETURNS trigger LANGUAGE plpgsql AS $$
    BEGIN
      PERFORM pg_notify('outbox', '');
      RETURN NULL;
    END $$;
    CREATE TRIGGER outbox_notify AFTER INSERT ON outbox FOR EACH STATEMENT EXECUTE FUNCTION outbox_notify();

    -- what a handler already did: (handler, message id) or (handler, natural key)
    CREATE TABLE processed_messages (
      handler TEXT NOT NULL,
      key TEXT NOT NULL,
      processed_at TIMESTAMPTZ NOT NULL DEFAULT now(),
      PRIMARY KEY (handler, key)
    );

    CREATE TABLE idempotency_keys (
      scope TEXT NOT NULL,
      key TEXT NOT NULL,
      request_hash TEXT NOT NULL,
      status INT NULL,
      response JSONB NULL,
      created_at TIMESTAMPTZ NOT NULL DEFAULT now(),
      PRIMARY KEY (scope, key)
    );

    CREATE TABLE dead_letters (
      id BIGSERIAL PRIMARY KEY,
      handler TEXT NOT NULL,
      service TEXT NOT NULL,
      message_id TEXT NOT NULL,
      name TEXT NOT NULL,
      subject TEXT NOT NULL,
      payload TEXT NOT NULL,
      metadata JSONB NOT NULL DEFAULT '{}',
      error TEXT NOT NULL,
      deliveries INT NOT NULL,
      created_at TIMESTAMPTZ NOT NULL DEFAULT now(),
      UNIQUE (handler, message_id)
    );
  `);
}

export async function down(knex: Knex): Promise<void> {
  await knex.raw(`
    DROP TABLE dead_letters, idempotency_keys, processed_messages;
    DROP TRIGGER outbox_notify ON outbox;
    DROP FUNCTION outbox_notify();
    DROP TABLE outbox;
  `);
}
