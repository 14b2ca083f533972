import { createHash } from "node:crypto";
import type { Transaction } from "../database/db.ts";
import { HttpError } from "./http-errors.ts";
import type { RequestMeta } from "./request-meta.ts";

export interface StoredResponse<T> {
  status: number;
  body: T;
  /** True when this is a replay of an earlier request with the same key. */
  replayed: boolean;
}

/**
 * Answers an HTTP-routed call with a stored response: its status, `Idempotent-Replayed: true` on a
 * replay, and for a 201 the Location of what was created.
 */
export function reply<T>(meta: RequestMeta, response: StoredResponse<T>, locationOf?: (created: T) => string): T {
  meta.$statusCode = response.status;
  if (response.status === 201 && locationOf) meta.$location = locationOf(response.body);
  if (response.replayed) meta.$responseHeaders = { "Idempotent-Replayed": "true" };
  return response.body;
}

/** Hash of a request body that ignores key order and whitespace: same meaning, same hash. */
export function requestHash(body: unknown): string {
  return createHash("sha256").update(canonicalJson(body)).digest("hex");
}

function canonicalJson(value: unknown): string {
  if (Array.isArray(value)) return `[${value.map(canonicalJson).join(",")}]`;
  if (value && typeof value === "object") {
    const entries = Object.entries(value as Record<string, unknown>)
      .filter(([, v]) => v !== undefined)
      .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
    return `{${entries.map(([k, v]) => `${JSON.stringify(k)}:${canonicalJson(v)}`).join(",")}}`;
  }
  return JSON.stringify(value ?? null);
}

/**
 * Runs `work` once per (scope, key) inside the caller's transaction. The key row is inserted first:
 * a concurrent request with the same key waits on it and then replays the stored answer; the same
 * key with another body is refused with 422. Because the row commits with the work's effects, a
 * request that failed leaves no key behind and can be retried.
 */
export async function oncePerKey<T>(
  trx: Transaction,
  scope: string,
  key: string,
  hash: string,
  work: () => Promise<{ status: number; body: T }>,
): Promise<StoredResponse<T>> {
  const inserted = await trx("idempotency_keys")
    .insert({ scope, key, request_hash: hash })
    .onConflict(["scope", "key"])
    .ignore()
    .returning("key");
  if (inserted.length === 0) {
    const stored = await trx("idempotency_keys").where({ scope, key }).first();
    if (stored.request_hash !== hash) {
      throw new HttpError(422, "Idempotency-Key was already used with a different request body");
    }
    return { status: stored.status, body: stored.response as T, replayed: true };
  }
  const result = await work();
  await trx("idempotency_keys")
    .where({ scope, key })
    .update({ status: result.status, response: JSON.stringify(result.body ?? null) });
  return { ...result, replayed: false };
}

/**
 * Scope suffix of implicit per-request keys: housekeeping forgets them after a short retention, as
 * they only guard Moleculer's own retries of one call.
 */
export const IMPLICIT_KEY_SCOPE_SUFFIX = ":request";

/** Where a creating request is kept once: the scope and key of its row, and the hash of its body. */
export interface IdempotencyRecord {
  scope: string;
  key: string;
  hash: string;
}

/**
 * The record a creating request is kept once under. The client's Idempotency-Key decides when it
 * sent one (a replay answers the first response; another body is 422). Without one, the
 * api-gateway's per-request id is the key: Moleculer retries a timed-out call with the same meta,
 * and that retry must not create a second row. The body hash is part of that implicit key, so a
 * client that reuses an X-Request-Id for a different request is never refused, and a retried call
 * replays. Undefined when the call has neither (not routed through HTTP).
 */
export function idempotencyRecordOf(
  scope: string,
  meta: Pick<RequestMeta, "idempotencyKey" | "requestId">,
  request: unknown,
): IdempotencyRecord | undefined {
  const hash = requestHash(request);
  if (meta.idempotencyKey) return { scope, key: meta.idempotencyKey, hash };
  if (meta.requestId) return { scope: `${scope}${IMPLICIT_KEY_SCOPE_SUFFIX}`, key: `${meta.requestId}:${hash}`, hash };
  return undefined;
}

/** Runs a creating request once per `idempotencyRecordOf` record. */
export async function oncePerRequest<T>(
  trx: Transaction,
  scope: string,
  meta: Pick<RequestMeta, "idempotencyKey" | "requestId">,
  request: unknown,
  work: () => Promise<{ status: number; body: T }>,
): Promise<StoredResponse<T>> {
  const record = idempotencyRecordOf(scope, meta, request);
  if (record) return oncePerKey(trx, record.scope, record.key, record.hash, work);
  return { ...(await work()), replayed: false };
}
