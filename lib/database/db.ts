import knexFactory, { type Knex } from "knex";
import pg from "pg";
import { migrationSource } from "../../migrations/index.ts";
import type { Logger } from "../observability/logger.ts";

// Row counts and bigint sequences come back as strings by default; ours fit in a JS number.
pg.types.setTypeParser(pg.types.builtins.INT8, (value) => Number(value));

export type Database = Knex;
export type Transaction = Knex.Transaction;

export function createDatabase(connectionString: string, pool: { min?: number; max?: number } = {}, logger?: Logger): Database {
  return knexFactory({
    // knex prints pool errors with stacks to the console by default; they belong in our logs, one line each
    log: {
      warn: (message: string) => logger?.warn({ err: firstLine(message) }, "database"),
      error: (message: string) => logger?.error({ err: firstLine(message) }, "database"),
      deprecate: () => undefined,
      debug: () => undefined,
    },
    client: "pg",
    connection: { connectionString, application_name: "tickets" },
    pool: { min: pool.min ?? 0, max: pool.max ?? 20 },
    acquireConnectionTimeout: 10_000,
  });
}

const firstLine = (message: string) => String(message).split("\n")[0];

/** Arbitrary constant; every node takes this advisory lock so only one migrates at a time. */
const MIGRATION_LOCK = 7_236_401;

/** Applies pending migrations; safe when several nodes start at once. */
export async function migrateToLatest(db: Database): Promise<string[]> {
  return db.transaction(async (trx) => {
    await trx.raw("SELECT pg_advisory_xact_lock(?)", [MIGRATION_LOCK]);
    const [, applied] = (await db.migrate.latest({ migrationSource, disableMigrationsListValidation: true })) as [number, string[]];
    return applied;
  });
}
