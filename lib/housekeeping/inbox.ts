import type { Database } from "../database/db.ts";
import { deleteUntilShort, seconds } from "./batches.ts";

/**
 * Inbox markers (`processed_messages`) older than the retention. The retention outlives JetStream's
 * (config refuses a shorter one), so no copy of a message can still be delivered once its marker goes.
 */
export function removeExpiredInboxMarkers(db: Database, retentionMs: number, batchSize: number): Promise<number> {
  return deleteUntilShort(
    db,
    `DELETE FROM processed_messages WHERE ctid IN (
       SELECT ctid FROM processed_messages WHERE processed_at < now() - make_interval(secs => ?) LIMIT ?)`,
    [seconds(retentionMs)],
    batchSize,
  );
}
