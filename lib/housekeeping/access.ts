import type { Database } from "../database/db.ts";
import { SIGNATURE_TOLERANCE_S } from "../http/auth/partner-signature.ts";
import { deleteUntilShort, seconds } from "./batches.ts";

/** Console sessions past their expiry. */
export function removeExpiredSessions(db: Database, batchSize: number): Promise<number> {
  return deleteUntilShort(
    db,
    `DELETE FROM staff_sessions WHERE ctid IN (SELECT ctid FROM staff_sessions WHERE expires_at < now() LIMIT ?)`,
    [],
    batchSize,
  );
}

/** Accepted partner signatures kept to refuse replays; one older than twice the tolerance fails its timestamp check anyway. */
export function removeStaleSignatures(db: Database, batchSize: number): Promise<number> {
  return deleteUntilShort(
    db,
    `DELETE FROM partner_signatures_seen WHERE ctid IN (
       SELECT ctid FROM partner_signatures_seen WHERE seen_at < now() - make_interval(secs => ?) LIMIT ?)`,
    [seconds(2 * SIGNATURE_TOLERANCE_S * 1000)],
    batchSize,
  );
}
