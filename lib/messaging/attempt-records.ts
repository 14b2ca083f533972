/**
 * The record of a handler's attempts at one inbox key (handler_attempts): written before an
 * attempt's transaction and committed on its own, so it outlives an attempt that dies after its
 * gateway call and tells the next one that the partner may have acted.
 */
import type { Outcome } from "../batcher.ts";
import type { Database } from "../database/db.ts";

/** An attempt of (handler, key) about to run; `memo` is kept from the first attempt of the key. */
export interface AttemptOpening {
  handler: string;
  key: string;
  memo?: string;
}

/** What the record of earlier attempts tells this one. */
export interface Attempt {
  earlierAttempt: boolean;
  firstAttemptMemo?: string;
  /** How long ago an earlier attempt's call went unanswered, by Postgres's clock (nodes' clocks may differ from it). */
  unansweredMsAgo?: number;
}

interface AttemptRow {
  handler: string;
  key: string;
  memo: string | null;
  open_attempts: number;
  unanswered_ms_ago: string | number | null;
}

const idOf = (record: { handler: string; key: string }) => `${record.handler}\u0000${record.key}`;

/**
 * Opens the attempts of a batch with one upsert per round, each committed before any of their
 * transactions runs. Rows go in key order, so two nodes' batches never deadlock; copies of one key go
 * in successive rounds (one upsert cannot touch a row twice), so the later copy sees the earlier one
 * open. A round that fails fails only its own openings.
 */
export async function openAttempts(db: Database, openings: AttemptOpening[]): Promise<Outcome<Attempt>[]> {
  const outcomes: Outcome<Attempt>[] = new Array(openings.length);
  for (const round of roundsOfDistinctKeys(openings)) {
    try {
      const rows: AttemptRow[] = await db("handler_attempts")
        .insert(round.map((i) => ({ handler: openings[i]!.handler, key: openings[i]!.key, memo: openings[i]!.memo })))
        .onConflict(["handler", "key"])
        .merge({ open_attempts: db.raw("handler_attempts.open_attempts + 1") })
        .returning([
          "handler",
          "key",
          "memo",
          "open_attempts",
          db.raw("EXTRACT(EPOCH FROM now() - unanswered_at) * 1000 AS unanswered_ms_ago"),
        ]);
      const rowOf = new Map(rows.map((row) => [idOf(row), row]));
      for (const i of round) outcomes[i] = { value: attemptOf(rowOf.get(idOf(openings[i]!))!, openings[i]!.memo) };
    } catch (error) {
      for (const i of round) outcomes[i] = { error };
    }
  }
  return outcomes;
}

/** Indexes of `openings`, split so no round holds a key twice, each round in key order. */
function roundsOfDistinctKeys(openings: AttemptOpening[]): number[][] {
  const rounds: number[][] = [];
  const copiesSoFar = new Map<string, number>();
  openings.forEach((opening, i) => {
    const copy = copiesSoFar.get(idOf(opening)) ?? 0;
    copiesSoFar.set(idOf(opening), copy + 1);
    if (copy === rounds.length) rounds.push([]);
    rounds[copy]!.push(i);
  });
  for (const round of rounds) round.sort((a, b) => (idOf(openings[a]!) < idOf(openings[b]!) ? -1 : 1));
  return rounds;
}

function attemptOf(row: AttemptRow, memo: string | undefined): Attempt {
  return {
    earlierAttempt: row.open_attempts > 1,
    firstAttemptMemo: row.memo ?? memo,
    unansweredMsAgo: row.unanswered_ms_ago === null ? undefined : Number(row.unanswered_ms_ago),
  };
}

/** The attempt's call went unanswered: the partner may still be applying it. */
export async function markUnanswered(db: Database, handler: string, key: string): Promise<void> {
  await db("handler_attempts").where({ handler, key }).update({ unanswered_at: db.fn.now() });
}

/** Closes an attempt the partner provably did not act on: later attempts need not treat it as in doubt. */
export async function closeAttempt(db: Database, handler: string, key: string): Promise<void> {
  await db("handler_attempts")
    .where({ handler, key })
    .update({ open_attempts: db.raw("GREATEST(open_attempts - 1, 0)") });
}
