import type { Knex } from "knex";

/**
 * Gateways keep the owners of API tokens they have checked (lib/http/auth/token-owners.ts); any
 * change that could withdraw or lower a token — a revoke, a role change, a removed user — tells
 * them on the `staff_credentials` channel, from the database itself, whichever process made it.
 */
export async function up(knex: Knex): Promise<void> {
  await knex.raw(`
    CREATE FUNCTION staff_credentials_changed() RETURNS trigger LANGUAGE plpgsql AS $$
    BEGIN
      PERFORM pg_notify('staff_credentials', TG_TABLE_NAME);
      RETURN NULL;
    END $$`);
  for (const table of ["staff_api_tokens", "staff_users"]) {
    await knex.raw(
      `CREATE TRIGGER ${table}_changed AFTER UPDATE OR DELETE OR TRUNCATE ON ${table} FOR EACH STATEMENT EXECUTE FUNCTION staff_credentials_changed()`,
    );
  }
}

export async function down(knex: Knex): Promise<void> {
  for (const table of ["staff_api_tokens", "staff_users"]) await knex.raw(`DROP TRIGGER ${table}_changed ON ${table}`);
  await knex.raw(`DROP FUNCTION staff_credentials_changed()`);
}
