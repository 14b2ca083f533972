import type { DeadLetter } from "./consumer.ts";
import type { Database } from "../database/db.ts";
import { errorMessage } from "../errors.ts";

export interface DeadLetterSummary {
  id: number;
  service: string;
  handler: string;
  name: string;
  messageId: string;
  error: string;
  deliveries: number;
  createdAt: string;
}

export interface DeadLetterDetail extends DeadLetterSummary {
  subject: string;
  /** The payload exactly as it was published. */
  payload: string;
  metadata: Record<string, string>;
}

interface DeadLetterRow {
  id: number;
  service: string;
  handler: string;
  name: string;
  message_id: string;
  subject: string;
  payload: string;
  metadata: Record<string, string>;
  error: string;
  deliveries: number;
  created_at: Date;
}

function summary(row: DeadLetterRow): DeadLetterSummary {
  return {
    id: row.id,
    service: row.service,
    handler: row.handler,
    name: row.name,
    messageId: row.message_id,
    error: row.error,
    deliveries: row.deliveries,
    createdAt: row.created_at.toISOString(),
  };
}

/** How many dead letters each handler durable has. */
export async function deadLetterCounts(db: Database): Promise<Map<string, number>> {
  const rows: { handler: string; n: number | string }[] = await db("dead_letters").select("handler").count({ n: "*" }).groupBy("handler");
  return new Map(rows.map((row) => [row.handler, Number(row.n)]));
}

/** Dead letters, oldest first, from after the id `after`; the caller bounds the answer's bytes. */
export async function listDeadLetters(
  db: Database,
  { limit = 500, after }: { limit?: number; after?: number } = {},
): Promise<DeadLetterSummary[]> {
  const query = db("dead_letters")
    .select("id", "service", "handler", "name", "message_id", "error", "deliveries", "created_at")
    .orderBy("id")
    .limit(limit);
  if (after !== undefined) query.where("id", ">", after);
  const rows: DeadLetterRow[] = await query;
  return rows.map(summary);
}

export async function findDeadLetter(db: Database, id: number): Promise<DeadLetterDetail | undefined> {
  const row: DeadLetterRow | undefined = await db("dead_letters").where({ id }).first();
  return row && { ...summary(row), subject: row.subject, payload: row.payload, metadata: row.metadata };
}

/** Where each dead letter goes back for a replay: the service that owns its handler. */
export async function deadLetterOwners(db: Database, id?: number): Promise<{ id: number; service: string }[]> {
  const query = db("dead_letters").select("id", "service").orderBy("id").limit(REPLAY_BATCH_MAX);
  if (id !== undefined) query.where({ id });
  return query;
}

/** Stores a message its handler gave up on; the same message given up on again updates its letter. */
export async function storeDeadLetter(
  db: Database,
  owner: { service: string; handler: string },
  { delivery, error }: DeadLetter,
): Promise<void> {
  await db("dead_letters")
    .insert({
      handler: owner.handler,
      service: owner.service,
      message_id: delivery.messageId,
      name: delivery.name,
      subject: delivery.subject,
      payload: delivery.raw,
      metadata: { correlation_id: delivery.correlationId ?? "", traceparent: delivery.traceparent ?? "" },
      error,
      deliveries: delivery.deliveryCount,
    })
    .onConflict(["handler", "message_id"])
    .merge(["error", "deliveries", "created_at"]);
}

/** A replay that failed again: the letter stays, with the new error and delivery count. */
export async function recordFailedReplay(db: Database, id: number, error: string, deliveries: number): Promise<void> {
  await db("dead_letters").where({ id }).update({ error, deliveries });
}

/** Deletes one dead letter; false when there was none with that id. */
export async function dropDeadLetter(db: Database, id: number): Promise<boolean> {
  return (await db("dead_letters").where({ id }).delete()) > 0;
}

/**
 * At most this many letters per replay of "all": the answer lists each one and crosses NATS, whose
 * payloads are bounded; the operator calls again for the rest.
 */
export const REPLAY_BATCH_MAX = 1000;
/** A replay's error is cut to this length in the answer, for the same reason. */
const REPLAY_ERROR_MAX = 300;

export interface ReplayResult {
  id: number;
  replayed: boolean;
  error?: string;
}

/**
 * Hands dead letters back to the services that own them (`<service>.replayDeadLetter`, which runs
 * the handler again and deletes the row on success). One at a time, oldest first, so a replay of
 * "all" cannot swamp a recovering gateway.
 */
export async function replayDeadLetters(
  db: Database,
  target: number | "all",
  replayOne: (service: string, id: number) => Promise<ReplayResult>,
): Promise<ReplayResult[]> {
  const owners = await deadLetterOwners(db, target === "all" ? undefined : target);
  const results: ReplayResult[] = [];
  for (const { id, service } of owners) {
    try {
      const result = await replayOne(service, id);
      results.push(result.error ? { ...result, error: result.error.slice(0, REPLAY_ERROR_MAX) } : result);
    } catch (error) {
      results.push({ id, replayed: false, error: errorMessage(error).slice(0, REPLAY_ERROR_MAX) });
    }
  }
  return results;
}
