/**
 * knex sends BEGIN and COMMIT as round trips of their own. A transaction that always starts with
 * the same kind of statement (an inbox marker) can send both in one simple query, "BEGIN;
 * <statement>", and a statement whose result nobody reads (an outbox row) can go with the COMMIT:
 * a round trip less each, of the ten or so statements of a handled message. knex has no hook for
 * either, so this subclasses its Postgres client and transaction (both plain CommonJS classes it
 * has kept for years); every other transaction begins and commits as knex's does.
 */
import { createRequire } from "node:module";
import pg from "pg";
import type { Knex } from "knex";

const require = createRequire(import.meta.url);

interface KnexTransaction {
  txid: string;
  /** Set by knex before `begin`: its client bound to the transaction's connection. */
  trxClient: { emit(event: "query", query: { sql: string; bindings: unknown[]; __knexTxId: string }): void };
  /** knex's own state, which its `commit` keeps through `query(conn, "COMMIT;", 1, value)`. */
  _completed: boolean;
  _resolver(value: unknown): void;
  _rejecter(error: unknown): void;
}
type KnexTransactionClass = new (
  client: unknown,
  container: unknown,
  config?: OpeningConfig,
  outerTx?: unknown,
) => KnexTransaction & { begin(connection: unknown): Promise<unknown>; commit(connection: unknown, value: unknown): Promise<unknown> };

/** Where a transactor's client keeps the transaction that takes statements for its COMMIT. */
const COMMIT_TAIL = Symbol("commitTail");

const PgClient: typeof Knex.Client = require("knex/lib/dialects/postgres/index.js");
const PgTransaction: KnexTransactionClass = require("knex/lib/dialects/postgres/execution/pg-transaction.js");

/** The statement that goes with BEGIN, and where its rows go before the transaction's work runs. */
interface Opening {
  sql: string;
  opened(rows: Record<string, unknown>[]): void;
}
interface OpeningConfig extends Knex.TransactionConfig {
  opening?: Opening;
}

class OpeningTransaction extends PgTransaction {
  readonly #opening: Opening | undefined;
  /** Statements to send with COMMIT, in order; a rollback drops them unsent. */
  readonly commitTail: string[] = [];

  constructor(client: unknown, container: unknown, config?: OpeningConfig, outerTx?: unknown) {
    super(client, container, config, outerTx);
    this.#opening = outerTx ? undefined : config?.opening;
  }

  override async begin(connection: unknown): Promise<unknown> {
    // a savepoint never begins: only a transaction's own client offers its COMMIT to `atCommit`
    Object.assign(this.trxClient, { [COMMIT_TAIL]: this });
    const opening = this.#opening;
    if (!opening) return super.begin(connection);
    // straight to the driver: knex would rewrite every "?" of the literals into a parameter; its
    // query event still goes out, so whoever counts statements counts this round trip
    const client = connection as pg.Client;
    const sql = `BEGIN; ${opening.sql}`;
    this.trxClient.emit("query", { sql, bindings: [], __knexTxId: this.txid });
    try {
      // a simple query of two statements answers one result per statement
      const results = (await client.query(sql)) as unknown as pg.QueryResult[];
      opening.opened(results[1]!.rows);
      return results;
    } catch (error) {
      // BEGIN ran before the statement failed: end the transaction here, or the connection goes
      // back to the pool inside an aborted one (knex sends no ROLLBACK for a failed begin)
      await client.query("ROLLBACK").catch(() => undefined);
      throw error;
    }
  }

  /** knex's `commit`, with the statements handed to `atCommit` sent before COMMIT in the same simple query. */
  override commit(connection: unknown, value: unknown): Promise<unknown> {
    if (this.commitTail.length === 0) return super.commit(connection, value);
    const client = connection as pg.Client;
    const sql = `${this.commitTail.join(";\n")};\nCOMMIT`;
    this.trxClient.emit("query", { sql, bindings: [], __knexTxId: this.txid });
    this._completed = true;
    return client.query(sql).then(
      (result) => {
        this._resolver(value);
        return result;
      },
      async (error: unknown) => {
        // a failed statement leaves the transaction aborted and its COMMIT unsent: end it here
        await client.query("ROLLBACK").catch(() => undefined);
        this._rejecter(error);
      },
    );
  }
}

/**
 * Sends `sql` with the COMMIT of `trx` instead of now, when `trx` is a transaction of this client
 * (not a savepoint); false otherwise, and the caller runs it itself. For statements whose result
 * nobody reads; a failure fails the commit. `sql` travels without parameters: build it with `sqlLiteral`.
 */
export function atCommit(trx: Knex.Transaction, sql: string): boolean {
  const transaction = (trx.client as { [COMMIT_TAIL]?: OpeningTransaction })[COMMIT_TAIL];
  if (!transaction || trx.isCompleted()) return false;
  transaction.commitTail.push(sql);
  return true;
}

/** knex's Postgres client, whose transactions may open with a statement (`transactionOpeningWith`). */
export class OpeningPgClient extends PgClient {
  override transaction(container: unknown, config?: OpeningConfig, outerTx?: unknown): Knex.Transaction {
    return new OpeningTransaction(this, container, config, outerTx) as unknown as Knex.Transaction;
  }
}

/**
 * Runs `work` in a transaction of `db` whose first statement is `sql`, sent with BEGIN in one
 * round trip; `work` gets its rows. `sql` travels without parameters: build it with `sqlLiteral`.
 */
export function transactionOpeningWith<T>(
  db: Knex,
  sql: string,
  work: (trx: Knex.Transaction, rows: Record<string, unknown>[]) => Promise<T>,
): Promise<T> {
  let rows: Record<string, unknown>[] = [];
  const config: OpeningConfig = { opening: { sql, opened: (opened) => (rows = opened) } };
  return db.transaction((trx) => work(trx, rows), config);
}

/** A string as a Postgres literal, quotes and backslashes escaped (for `transactionOpeningWith`). */
export const sqlLiteral = (value: string): string => pg.escapeLiteral(value);
