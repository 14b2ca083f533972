// The inbox's records of a handler's attempts at a partner call (handler_attempts), keyed like its
// inbox marker (processed_messages): what later attempts learn from earlier ones, and the one
// statement that ends an attempt whose call ran outside any transaction.
import { setTimeout as sleep } from "node:timers/promises";
import type { Database } from "../database/db.ts";
import { outboxRows, type OutboxEntry } from "./outbox.ts";
import type { Topology } from "./topology.ts";

/** What the record of earlier attempts tells this one. */
export interface Attempt {
  earlierAttempt: boolean;
  firstAttemptMemo?: string;
  /** When an earlier attempt's call went unanswered. */
  unansweredAt?: Date;
  /** The inbox marker is there: an earlier attempt (or another copy) committed the effect. */
  processed?: boolean;
}

/**
 * Opens an attempt of (handler, key), committed before the attempt's call so it outlives an
 * attempt that dies after it; says whether an earlier one is still open, its memo, and whether the
 * effect is already committed.
 */
export async function openAttempt(db: Database, handler: string, key: string, memo: string | undefined): Promise<Attempt> {
  const { rows } = await db.raw(
    `INSERT INTO handler_attempts (handler, key, memo) VALUES (?, ?, ?)
     ON CONFLICT (handler, key) DO UPDATE SET open_attempts = handler_attempts.open_attempts + 1
     RETURNING memo, open_attempts, unanswered_at,
       EXISTS (SELECT 1 FROM processed_messages p WHERE p.handler = handler_attempts.handler AND p.key = handler_attempts.key) AS processed`,
    [handler, key, memo ?? null],
  );
  const [row] = rows;
  return {
    earlierAttempt: row.open_attempts > 1,
    firstAttemptMemo: row.memo ?? memo,
    unansweredAt: row.unanswered_at ?? undefined,
    processed: row.processed,
  };
}

export async function isProcessed(db: Database, handler: string, key: string): Promise<boolean> {
  const { rows } = await db.raw("SELECT EXISTS (SELECT 1 FROM processed_messages WHERE handler = ? AND key = ?) AS processed", [
    handler,
    key,
  ]);
  return rows[0].processed;
}

/** The attempt's call went unanswered: the partner may still be applying it (see `settle`). */
export async function markUnanswered(db: Database, handler: string, key: string): Promise<void> {
  await db("handler_attempts").where({ handler, key }).update({ unanswered_at: db.fn.now() });
}

/**
 * Gives a partner `settleMs` after an earlier attempt's call went unanswered before this attempt
 * reads it back or calls again: a read-back that runs while the first request is still being
 * applied finds nothing and the effect happens twice.
 */
export async function settle(unansweredAt: Date | undefined, settleMs: number): Promise<void> {
  if (!unansweredAt) return;
  const remainingMs = unansweredAt.getTime() + settleMs - Date.now();
  if (remainingMs > 0) await sleep(remainingMs);
}

/** Closes an attempt the partner provably did not act on: later attempts need not treat it as in doubt. */
export async function closeAttempt(db: Database, handler: string, key: string): Promise<void> {
  await db("handler_attempts")
    .where({ handler, key })
    .update({ open_attempts: db.raw("GREATEST(open_attempts - 1, 0)") });
}

/** Drops the attempt record of an effect that committed. */
export async function endAttempt(db: Database, handler: string, key: string): Promise<void> {
  await db("handler_attempts").where({ handler, key }).delete();
}

/**
 * Ends an attempt whose call ran outside any transaction, in one statement (so atomically, with no
 * BEGIN/COMMIT round trips): inserts the inbox marker, writes the follow-up messages only if this
 * insert made the marker (a copy that committed first wins, the others publish nothing), and drops
 * the attempt record.
 */
export async function commitMarker(
  db: Database,
  topology: Topology,
  commit: { handler: string; key: string; entries: OutboxEntry[] },
): Promise<void> {
  const { handler, key, entries } = commit;
  const rows = outboxRows(topology, entries).map(({ row }) => row);
  await db.raw(
    `WITH marker AS (
       INSERT INTO processed_messages (handler, key) VALUES (?, ?) ON CONFLICT (handler, key) DO NOTHING RETURNING key
     ), ended AS (
       DELETE FROM handler_attempts WHERE handler = ? AND key = ?
     )
     INSERT INTO outbox (message_id, kind, name, subject, payload, metadata)
     SELECT r.message_id, r.kind, r.name, r.subject, r.payload, r.metadata
     FROM jsonb_to_recordset(?::jsonb) AS r(message_id uuid, kind text, name text, subject text, payload text, metadata jsonb)
     WHERE EXISTS (SELECT 1 FROM marker)`,
    [handler, key, handler, key, JSON.stringify(rows)],
  );
}
