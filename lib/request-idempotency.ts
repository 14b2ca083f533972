import type { Transaction } from "./db.ts";
import { oncePerKey, requestHash, type StoredResponse } from "./idempotency.ts";
import type { RequestMeta } from "./request-meta.ts";

/**
 * Runs a creating request once. The client's Idempotency-Key decides when it sent one (a replay
 * answers the first response; another body is 422). Without one, the api-gateway's per-request id
 * is the key: Moleculer retries a timed-out call with the same meta, and that retry must not create
 * a second row. The body hash is part of that implicit key, so a client that reuses an
 * X-Request-Id for a different request is never refused, and a retried call replays.
 */
export async function oncePerRequest<T>(
  trx: Transaction,
  scope: string,
  meta: Pick<RequestMeta, "idempotencyKey" | "requestId">,
  request: unknown,
  work: () => Promise<{ status: number; body: T }>,
): Promise<StoredResponse<T>> {
  const hash = requestHash(request);
  if (meta.idempotencyKey) return oncePerKey(trx, scope, meta.idempotencyKey, hash, work);
  if (meta.requestId) return oncePerKey(trx, `${scope}:request`, `${meta.requestId}:${hash}`, hash, work);
  return { ...(await work()), replayed: false };
}
