/**
 * knex sends BEGIN as a round trip of its own. A transaction that always starts with the same kind
 * of statement (an inbox marker) can send both in one simple query, "BEGIN; <statement>": one
 * round trip less per transaction, which is a tenth of a handled message's statements. knex has no
 * hook for it, so this subclasses its Postgres client and transaction (both plain CommonJS classes
 * it has kept for years); every other transaction begins as knex's does.
 */
import { createRequire } from "node:module";
import pg from "pg";
import type { Knex } from "knex";

const require = createRequire(import.meta.url);

interface KnexTransaction {
  txid: string;
  /** Set by knex before `begin`: its client bound to the transaction's connection. */
  trxClient: { emit(event: "query", query: { sql: string; bindings: unknown[]; __knexTxId: string }): void };
}
type KnexTransactionClass = new (
  client: unknown,
  container: unknown,
  config?: OpeningConfig,
  outerTx?: unknown,
) => KnexTransaction & { begin(connection: unknown): Promise<unknown> };

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

  constructor(client: unknown, container: unknown, config?: OpeningConfig, outerTx?: unknown) {
    super(client, container, config, outerTx);
    this.#opening = outerTx ? undefined : config?.opening;
  }

  override async begin(connection: unknown): Promise<unknown> {
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
