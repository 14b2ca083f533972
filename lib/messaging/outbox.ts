import { randomUUID } from "node:crypto";
import type { Transaction } from "../database/db.ts";
import { atCommit, sqlLiteral } from "../database/opening-transaction.ts";
import type { Topology } from "./topology.ts";
import { newHeader, type BodyOf, type MessageContract, type MessageHeader, type PayloadOf } from "../../contracts/index.ts";
import { newCorrelationId } from "../observability/correlation-id.ts";
import { traceCarrierOf, type TraceCarrier } from "../observability/tracing.ts";

/** Where a message comes from: carried into its metadata so the trace and correlation follow it. */
export interface MessageOrigin {
  correlationId?: string;
  traceparent?: string;
  tracestate?: string;
}

export interface OutboxMessage<C extends MessageContract = MessageContract> {
  contract: C;
  body: BodyOf<C>;
  /** A header to reuse (TicketRefunded_v1 copies its command's); a fresh one otherwise. */
  header?: MessageHeader;
  /** Idempotency key of a fresh header; random when absent. */
  idempotencyKey?: string;
}

/** One message of a multi-row write, with where it comes from. */
export interface OutboxEntry<C extends MessageContract = MessageContract> {
  message: OutboxMessage<C>;
  origin?: MessageOrigin;
  /**
   * The trace the message belongs to, captured where its request was served: a batch written on
   * behalf of many requests runs inside one of their spans, which is the parent of none but its own.
   * Absent ⇒ the span active while writing, as for a single write.
   */
  trace?: TraceCarrier;
}

/**
 * Writes one message into the outbox inside the caller's transaction. The payload is validated
 * against its contract first, so nothing malformed ever reaches the backbone. Returns the row's
 * transport message id, which is distinct from the payload's header id.
 */
export async function writeToOutbox<C extends MessageContract>(
  trx: Transaction,
  topology: Topology,
  message: OutboxMessage<C>,
  origin: MessageOrigin = {},
): Promise<{ messageId: string; payload: PayloadOf<C> }> {
  const [written] = await writeAllToOutbox(trx, topology, [{ message, origin }]);
  return written!;
}

/**
 * Writes many messages into the outbox with one INSERT (one statement, one notify), each validated
 * and given its metadata as `writeToOutbox` does. Returns them in order. The INSERT goes with the
 * transaction's COMMIT when it can: nobody reads the rows before, and it saves a round trip.
 */
export async function writeAllToOutbox<C extends MessageContract>(
  trx: Transaction,
  topology: Topology,
  entries: OutboxEntry<C>[],
): Promise<{ messageId: string; payload: PayloadOf<C> }[]> {
  if (entries.length === 0) return [];
  const rows = entries.map((entry) => outboxRow(topology, entry));
  if (!atCommit(trx, insertStatement(rows.map(({ row }) => row)))) await trx("outbox").insert(rows.map(({ row }) => row));
  return rows.map(({ row, payload }) => ({ messageId: row.message_id, payload }));
}

const OUTBOX_COLUMNS = ["kind", "message_id", "metadata", "name", "payload", "subject"] as const;

/** The INSERT knex would send, its values written in as literals (for `atCommit`). */
function insertStatement(rows: ReturnType<typeof outboxRow>["row"][]): string {
  const values = rows.map(
    (row) =>
      `(${OUTBOX_COLUMNS.map((column) => sqlLiteral(column === "metadata" ? JSON.stringify(row.metadata) : row[column])).join(", ")})`,
  );
  return `INSERT INTO outbox (${OUTBOX_COLUMNS.join(", ")}) VALUES ${values.join(", ")}`;
}

function outboxRow<C extends MessageContract>(topology: Topology, { message, origin = {}, trace }: OutboxEntry<C>) {
  const { contract } = message;
  const header = message.header ?? newHeader(message.idempotencyKey);
  const payload = contract.schema.parse({ ...message.body, header }) as PayloadOf<C>;
  const metadata: Record<string, string> = { name: contract.name, correlation_id: origin.correlationId ?? newCorrelationId() };
  // The span active while writing (an action's, a handler's) is the message's parent; the origin's
  // own fields count only outside any span.
  const { traceparent, tracestate } = { ...origin, ...(trace ?? traceCarrierOf()) };
  if (traceparent) metadata.traceparent = traceparent;
  if (tracestate) metadata.tracestate = tracestate;
  const row = {
    message_id: randomUUID(),
    kind: contract.kind,
    name: contract.name,
    subject: topology.subject(contract.kind, contract.name),
    payload: JSON.stringify(payload),
    metadata,
  };
  return { row, payload };
}
