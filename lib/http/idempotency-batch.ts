import type { Transaction } from "../database/db.ts";
import { HttpError } from "./http-errors.ts";
import type { IdempotencyRecord, StoredResponse } from "./idempotency.ts";

/**
 * What a batch member's record says before its work runs: `fresh` ⇒ do the work (its key row is
 * inserted and uncommitted, or it has no record); `stored` ⇒ replay an earlier answer; `refused` ⇒
 * answer the error; `sameAs` ⇒ an earlier member of the batch holds the same key and body, and
 * this one gets that member's answer.
 */
export type Claim<T> = { fresh: true } | { stored: StoredResponse<T> } | { refused: HttpError } | { sameAs: number };

const reusedWithAnotherBody = () => new HttpError(422, "Idempotency-Key was already used with a different request body");
const idOf = (record: IdempotencyRecord) => `${record.scope}\u0000${record.key}`;

/**
 * `oncePerKey` for a batch: one multi-row INSERT … ON CONFLICT DO NOTHING claims every new key,
 * and one SELECT reads the answers of the keys that were there. Keys are inserted in key order, so
 * two batches sharing keys wait for each other instead of deadlocking; a key held by another
 * node's uncommitted batch makes this insert wait for that batch's outcome, as a single request's
 * insert does.
 */
export async function claimKeys<T>(trx: Transaction, records: (IdempotencyRecord | undefined)[]): Promise<Claim<T>[]> {
  const first = new Map<string, number>();
  records.forEach((record, i) => {
    if (record && !first.has(idOf(record))) first.set(idOf(record), i);
  });
  const owners = [...first.values()].map((i) => records[i]!).sort((a, b) => (idOf(a) < idOf(b) ? -1 : 1));
  const inserted = new Set<string>();
  if (owners.length > 0) {
    const rows = await trx("idempotency_keys")
      .insert(owners.map(({ scope, key, hash }) => ({ scope, key, request_hash: hash })))
      .onConflict(["scope", "key"])
      .ignore()
      .returning(["scope", "key"]);
    for (const row of rows) inserted.add(idOf(row));
  }
  const existing = owners.filter((record) => !inserted.has(idOf(record)));
  const stored = new Map<string, { request_hash: string; status: number; response: T }>();
  if (existing.length > 0) {
    const rows = await trx("idempotency_keys")
      .select("scope", "key", "request_hash", "status", "response")
      .whereIn(
        ["scope", "key"],
        existing.map((record) => [record.scope, record.key]),
      );
    for (const row of rows) stored.set(idOf(row), row);
  }
  return records.map((record, i): Claim<T> => {
    if (!record) return { fresh: true };
    const owner = first.get(idOf(record))!;
    if (owner !== i) return record.hash === records[owner]!.hash ? { sameAs: owner } : { refused: reusedWithAnotherBody() };
    if (inserted.has(idOf(record))) return { fresh: true };
    const row = stored.get(idOf(record))!;
    if (row.request_hash !== record.hash) return { refused: reusedWithAnotherBody() };
    return { stored: { status: row.status, body: row.response, replayed: true } };
  });
}

/** Stores the answers of claimed keys with one UPDATE, as `oncePerKey` stores one. */
export async function storeAnswers(trx: Transaction, answers: { record: IdempotencyRecord; status: number; body: unknown }[]) {
  if (answers.length === 0) return;
  const values = answers.map(() => "(?, ?, ?::int, ?::jsonb)").join(", ");
  await trx.raw(
    `UPDATE idempotency_keys AS k SET status = v.status, response = v.response
       FROM (VALUES ${values}) AS v(scope, key, status, response)
      WHERE k.scope = v.scope AND k.key = v.key`,
    answers.flatMap(({ record, status, body }) => [record.scope, record.key, status, JSON.stringify(body ?? null)]),
  );
}

/**
 * Deletes claimed keys whose request was refused: a refused single request rolls its key back with
 * its transaction, so a retry with that key may succeed later; a batch commits, so it forgets them.
 */
export async function releaseKeys(trx: Transaction, records: IdempotencyRecord[]) {
  if (records.length === 0) return;
  await trx("idempotency_keys")
    .whereIn(
      ["scope", "key"],
      records.map((record) => [record.scope, record.key]),
    )
    .delete();
}
