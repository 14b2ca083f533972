import type { Database } from "../database/db.ts";

/**
 * Runs a `DELETE … LIMIT ?` statement until a batch comes back short, so one pass removes everything
 * that has expired however far behind it was, in batches small enough to hold no lock for long.
 * `statement` takes its bindings followed by the batch size as the last one.
 */
export async function deleteUntilShort(db: Database, statement: string, bindings: unknown[], batchSize: number): Promise<number> {
  let removed = 0;
  for (;;) {
    const result = await db.raw(statement, [...bindings, batchSize] as never[]);
    const count = result.rowCount ?? 0;
    removed += count;
    if (count < batchSize) return removed;
  }
}

/** A retention as the seconds `make_interval(secs => ?)` takes. */
export const seconds = (ms: number) => ms / 1000;
