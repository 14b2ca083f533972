import { setTimeout as sleep } from "node:timers/promises";
import type { Database } from "../database/db.ts";
import { errorMessage } from "../errors.ts";
import type { Logger } from "../observability/logger.ts";
import { housekeepingFailures, housekeepingRemoved } from "../observability/metrics.ts";
import { removeExpiredSessions, removeStaleSignatures } from "./access.ts";
import { removeSettledAttempts } from "./handler-attempts.ts";
import { type IdempotencyRetention, removeExpiredIdempotencyKeys } from "./idempotency-keys.ts";
import { removeExpiredInboxMarkers } from "./inbox.ts";
import { removePublishedOutboxRows } from "./outbox.ts";

export interface HousekeepingOptions {
  db: Database;
  logger: Logger;
  outboxRetentionMs: number;
  idempotency: IdempotencyRetention;
  inboxRetentionMs: number;
  /** Rows per DELETE; each table's pass loops until a batch comes back short. */
  batchSize: number;
  intervalMs: number;
}

/** Rows removed by one pass, by table. */
export type HousekeepingPass = Record<string, number>;

export interface Housekeeping {
  /** One pass over every table now (what the timer runs); a failing table is logged and counted, not thrown. */
  runOnce(): Promise<HousekeepingPass>;
  stop(): Promise<void>;
}

/**
 * The clean-up of everything written per message or per request, one task per table. Every node
 * runs it: the deletes take disjoint rows under concurrent runs (a row another node deletes first is
 * simply not counted), and a pass over a table that is already clean is one index probe.
 */
export function startHousekeeping(options: HousekeepingOptions): Housekeeping {
  const { db, logger, batchSize } = options;
  // attempts before the inbox: a settled attempt is recognised by the inbox marker it settles on
  const tasks: [table: string, run: () => Promise<number>][] = [
    ["outbox", () => removePublishedOutboxRows(db, options.outboxRetentionMs, batchSize)],
    ["idempotency_keys", () => removeExpiredIdempotencyKeys(db, options.idempotency, batchSize)],
    ["handler_attempts", () => removeSettledAttempts(db, batchSize)],
    ["processed_messages", () => removeExpiredInboxMarkers(db, options.inboxRetentionMs, batchSize)],
    ["staff_sessions", () => removeExpiredSessions(db, batchSize)],
    ["partner_signatures_seen", () => removeStaleSignatures(db, batchSize)],
  ];

  async function runOnce(): Promise<HousekeepingPass> {
    const pass: HousekeepingPass = {};
    for (const [table, run] of tasks) {
      try {
        const removed = await run();
        pass[table] = removed;
        housekeepingRemoved.inc({ table }, removed);
        if (removed > 0) logger.info({ table, removed }, "housekeeping removed expired rows");
      } catch (error) {
        housekeepingFailures.inc({ table });
        logger.warn({ table, err: errorMessage(error) }, "housekeeping failed; retrying at the next pass");
      }
    }
    return pass;
  }

  const stopped = new AbortController();
  const loop = (async () => {
    while (!stopped.signal.aborted) {
      await sleep(options.intervalMs, undefined, { signal: stopped.signal, ref: false }).catch(() => undefined);
      if (!stopped.signal.aborted) await runOnce();
    }
  })();

  return {
    runOnce,
    async stop() {
      stopped.abort();
      await loop;
    },
  };
}
