import type { Knex } from "knex";

/** The original system's tables, with the constraints it lacked (docs/compatibility.md). */
export async function up(knex: Knex): Promise<void> {
  await knex.raw(`
    CREATE TABLE shows (
      show_id UUID PRIMARY KEY,
      dead_nation_id UUID NOT NULL UNIQUE,
      number_of_tickets INT NOT NULL CHECK (number_of_tickets > 0),
      booked INT NOT NULL DEFAULT 0,
      start_time TIMESTAMP NOT NULL,
      title VARCHAR(255) NOT NULL,
      venue VARCHAR(255) NOT NULL,
      created_at TIMESTAMPTZ NOT NULL DEFAULT now(),
      CONSTRAINT shows_never_oversold CHECK (booked >= 0 AND booked <= number_of_tickets)
    );
    CREATE INDEX shows_start_time ON shows (start_time);

    CREATE TABLE bookings (
      booking_id UUID PRIMARY KEY,
      show_id UUID NOT NULL REFERENCES shows(show_id),
      number_of_tickets INT NOT NULL CHECK (number_of_tickets > 0),
      customer_email VARCHAR(255) NOT NULL,
      created_at TIMESTAMPTZ NOT NULL DEFAULT now()
    );
    CREATE INDEX bookings_show_id ON bookings (show_id);

    CREATE TABLE tickets (
      ticket_id UUID PRIMARY KEY,
      price_amount NUMERIC(10,2) NOT NULL,
      price_currency CHAR(3) NOT NULL,
      customer_email VARCHAR(255) NOT NULL,
      deleted_at TIMESTAMP NULL
    );

    CREATE TABLE read_model_ops_bookings (
      booking_id UUID PRIMARY KEY,
      payload JSONB NOT NULL
    );
    CREATE INDEX read_model_ops_bookings_tickets ON read_model_ops_bookings USING GIN ((payload->'tickets'));

    CREATE TABLE events (
      event_id UUID PRIMARY KEY,
      published_at TIMESTAMP NOT NULL,
      event_name VARCHAR(255) NOT NULL,
      event_payload JSONB NOT NULL
    );
    CREATE INDEX events_published_at ON events (published_at, event_id);
  `);
}

export async function down(knex: Knex): Promise<void> {
  await knex.raw(`DROP TABLE events, read_model_ops_bookings, tickets, bookings, shows`);
}
