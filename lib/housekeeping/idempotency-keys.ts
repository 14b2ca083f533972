import type { Database } from "../database/db.ts";
import { IMPLICIT_KEY_SCOPE_SUFFIX } from "../http/idempotency.ts";
import { deleteUntilShort, seconds } from "./batches.ts";

export interface IdempotencyRetention {
  /** A client's Idempotency-Key: as long as the client may retry. */
  explicitMs: number;
  /** The per-request key of a call without one: only as long as Moleculer may retry the call. */
  implicitMs: number;
}

/**
 * Expired idempotency records, by the `created_at` indexes of migration 032: implicit per-request
 * keys (scope `…:request`) after their short retention, every key after the long one.
 */
export async function removeExpiredIdempotencyKeys(db: Database, retention: IdempotencyRetention, batchSize: number): Promise<number> {
  const implicit = await deleteUntilShort(
    db,
    `DELETE FROM idempotency_keys WHERE ctid IN (
       SELECT ctid FROM idempotency_keys
        WHERE scope LIKE '%${IMPLICIT_KEY_SCOPE_SUFFIX}' AND created_at < now() - make_interval(secs => ?) LIMIT ?)`,
    [seconds(retention.implicitMs)],
    batchSize,
  );
  const any = await deleteUntilShort(
    db,
    `DELETE FROM idempotency_keys WHERE ctid IN (
       SELECT ctid FROM idempotency_keys WHERE created_at < now() - make_interval(secs => ?) LIMIT ?)`,
    [seconds(retention.explicitMs)],
    batchSize,
  );
  return implicit + any;
}
