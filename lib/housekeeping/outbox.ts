import type { Database } from "../database/db.ts";
import { deleteUntilShort, seconds } from "./batches.ts";

/** Published outbox rows older than the retention; the partial index `outbox_published` finds them. */
export function removePublishedOutboxRows(db: Database, retentionMs: number, batchSize: number): Promise<number> {
  return deleteUntilShort(
    db,
    `DELETE FROM outbox WHERE seq IN (
       SELECT seq FROM outbox WHERE published_at < now() - make_interval(secs => ?) ORDER BY published_at LIMIT ?)`,
    [seconds(retentionMs)],
    batchSize,
  );
}
