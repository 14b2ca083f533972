import type { ServiceSchema } from "moleculer";
import type { Database, Transaction } from "../lib/database/db.ts";
import { runtimeOf, type Runtime } from "../lib/runtime.ts";

export interface DatabaseMethods {
  runtime: Runtime;
  db: Database;
  transaction<T>(work: (trx: Transaction) => Promise<T>): Promise<T>;
}

/** Gives a service the node's knex instance and a transaction helper. */
export function DatabaseMixin(): Partial<ServiceSchema> {
  return {
    created() {
      this.runtime = runtimeOf(this.broker);
      this.db = this.runtime.db;
    },
    methods: {
      transaction<T>(work: (trx: Transaction) => Promise<T>): Promise<T> {
        return (this.db as Database).transaction(work);
      },
    },
  };
}
