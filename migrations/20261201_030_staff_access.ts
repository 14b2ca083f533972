import type { Knex } from "knex";

/**
 * Who may do what: staff users with a role, their console sessions, API tokens for automation, and
 * the partner callback signatures already accepted (so a captured callback cannot be replayed).
 * Only digests of sessions and tokens are stored: a copy of the database signs nobody in.
 */
export async function up(knex: Knex): Promise<void> {
  await knex.raw(`
    CREATE TABLE staff_users (
      user_id UUID PRIMARY KEY DEFAULT gen_random_uuid(),
      username TEXT NOT NULL UNIQUE CHECK (username ~ '^[A-Za-z0-9._@-]{1,64}$'),
      role TEXT NOT NULL CHECK (role IN ('viewer', 'operator', 'admin')),
      password_hash TEXT NOT NULL,
      created_at TIMESTAMPTZ NOT NULL DEFAULT now()
    );
    CREATE TABLE staff_sessions (
      session_digest TEXT PRIMARY KEY,
      user_id UUID NOT NULL REFERENCES staff_users (user_id) ON DELETE CASCADE,
      csrf_token TEXT NOT NULL,
      created_at TIMESTAMPTZ NOT NULL DEFAULT now(),
      expires_at TIMESTAMPTZ NOT NULL
    );
    CREATE INDEX staff_sessions_expires_at ON staff_sessions (expires_at);
    CREATE TABLE staff_api_tokens (
      token_id UUID PRIMARY KEY DEFAULT gen_random_uuid(),
      token_digest TEXT NOT NULL UNIQUE,
      user_id UUID NOT NULL REFERENCES staff_users (user_id) ON DELETE CASCADE,
      name TEXT NOT NULL,
      created_at TIMESTAMPTZ NOT NULL DEFAULT now()
    );
    CREATE TABLE partner_signatures_seen (
      signature TEXT PRIMARY KEY,
      seen_at TIMESTAMPTZ NOT NULL DEFAULT now()
    );
    CREATE INDEX partner_signatures_seen_at ON partner_signatures_seen (seen_at);
  `);
}

export async function down(knex: Knex): Promise<void> {
  await knex.raw(`DROP TABLE partner_signatures_seen, staff_api_tokens, staff_sessions, staff_users`);
}
