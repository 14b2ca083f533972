import knexFactory, { type Knex } from "knex";
import pg from "pg";
import { migrationSource } from "../../migrations/index.ts";
import { OpeningPgClient } from "./opening-transaction.ts";
import type { Logger } from "../observability/logger.ts";

// Row counts and bigint sequences come back as strings by default; ours fit in a JS number.
pg.types.setTypeParser(pg.types.builtins.INT8, (value) => Number(value));

export type Database = Knex;
export type Transaction = Knex.Transaction;

/** Limits on every session's waits, so a stuck statement or a silent client never holds locks for long. */
export interface SessionLimits {
  statementTimeoutMs: number;
  lockTimeoutMs: number;
  idleInTransactionTimeoutMs: number;
}

/** Probes a silent link within seconds instead of the kernel's two hours, so a dead peer frees its locks. */
const KEEPALIVE_IDLE_MS = 10_000;
/** A connection attempt to a silent address gives up instead of hanging. */
const CONNECT_TIMEOUT_MS = 10_000;

export function createDatabase(
  connectionString: string,
  pool: { min?: number; max?: number } = {},
  logger?: Logger,
  limits?: SessionLimits,
): Database {
  return knexFactory({
    // knex prints pool errors with stacks to the console by default; they belong in our logs, one line each
    log: {
      warn: (message: string) => logger?.warn({ err: firstLine(message) }, "database"),
      error: (message: string) => logger?.error({ err: firstLine(message) }, "database"),
      deprecate: () => undefined,
      debug: () => undefined,
    },
    client: OpeningPgClient,
    connection: { connectionString, application_name: "tickets", ...sessionSettings(limits) },
    pool: { min: pool.min ?? 0, max: pool.max ?? 20 },
    acquireConnectionTimeout: 10_000,
  });
}

export function sessionSettings(
  limits: SessionLimits | undefined,
): Pick<
  pg.ClientConfig,
  | "keepAlive"
  | "keepAliveInitialDelayMillis"
  | "connectionTimeoutMillis"
  | "statement_timeout"
  | "lock_timeout"
  | "idle_in_transaction_session_timeout"
> {
  return {
    keepAlive: true,
    keepAliveInitialDelayMillis: KEEPALIVE_IDLE_MS,
    connectionTimeoutMillis: CONNECT_TIMEOUT_MS,
    ...(limits && {
      statement_timeout: limits.statementTimeoutMs,
      lock_timeout: limits.lockTimeoutMs,
      idle_in_transaction_session_timeout: limits.idleInTransactionTimeoutMs,
    }),
  };
}

/** The session limits a node's configuration sets. */
export function sessionLimitsOf(config: {
  POSTGRES_STATEMENT_TIMEOUT_MS: number;
  POSTGRES_LOCK_TIMEOUT_MS: number;
  POSTGRES_IDLE_IN_TRANSACTION_TIMEOUT_MS: number;
}): SessionLimits {
  return {
    statementTimeoutMs: config.POSTGRES_STATEMENT_TIMEOUT_MS,
    lockTimeoutMs: config.POSTGRES_LOCK_TIMEOUT_MS,
    idleInTransactionTimeoutMs: config.POSTGRES_IDLE_IN_TRANSACTION_TIMEOUT_MS,
  };
}

/** SQLSTATEs of a statement that lost a lock conflict (deadlock victim, serialization failure, lock timeout): trying again can succeed. */
const LOCK_CONFLICTS = new Set(["40P01", "40001", "55P03"]);

export function isLockConflict(error: unknown): boolean {
  return typeof error === "object" && error !== null && LOCK_CONFLICTS.has((error as { code?: string }).code ?? "");
}

const firstLine = (message: string) => String(message).split("\n")[0];

/** Arbitrary constant; every node takes this advisory lock so only one migrates at a time. */
const MIGRATION_LOCK = 7_236_401;

/** Applies pending migrations; safe when several nodes start at once. */
export async function migrateToLatest(db: Database): Promise<string[]> {
  return db.transaction(async (trx) => {
    // the lock's holder waits idle while the migrations run on other connections
    await trx.raw("SET LOCAL idle_in_transaction_session_timeout = 0");
    await trx.raw("SELECT pg_advisory_xact_lock(?)", [MIGRATION_LOCK]);
    const [, applied] = (await db.migrate.latest({ migrationSource, disableMigrationsListValidation: true })) as [number, string[]];
    return applied;
  });
}
