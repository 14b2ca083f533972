import type { Database } from "../database/db.ts";
import { deleteUntilShort } from "./batches.ts";

/**
 * Attempt records whose (handler, key) the inbox already holds as done. The commit that marks a key
 * done deletes its record only after an attempt in doubt; the record of a single answered attempt
 * is left here (one round trip less per message), and so is one whose skip-path commit failed. No
 * later attempt can run the effect again, so the record only takes space. Records of keys not done
 * yet (a dead letter waiting for a replay) are kept.
 */
export function removeSettledAttempts(db: Database, batchSize: number): Promise<number> {
  return deleteUntilShort(
    db,
    `DELETE FROM handler_attempts WHERE (handler, key) IN (
       SELECT a.handler, a.key FROM handler_attempts a
         JOIN processed_messages p ON p.handler = a.handler AND p.key = a.key
        LIMIT ?)`,
    [],
    batchSize,
  );
}
