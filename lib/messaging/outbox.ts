import { randomUUID } from "node:crypto";
import type { Transaction } from "../database/db.ts";
import type { Topology } from "./topology.ts";
import { newHeader, type BodyOf, type MessageContract, type MessageHeader, type PayloadOf } from "../../contracts/index.ts";
import { newCorrelationId } from "../observability/correlation-id.ts";
import { traceCarrierOf } from "../observability/tracing.ts";

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
  const { contract } = message;
  const header = message.header ?? newHeader(message.idempotencyKey);
  const payload = contract.schema.parse({ ...message.body, header }) as PayloadOf<C>;
  const messageId = randomUUID();
  const metadata: Record<string, string> = { name: contract.name, correlation_id: origin.correlationId ?? newCorrelationId() };
  // The span active while writing (an action's, a handler's) is the message's parent; the origin's
  // own fields count only outside any span.
  const { traceparent, tracestate } = { ...origin, ...traceCarrierOf() };
  if (traceparent) metadata.traceparent = traceparent;
  if (tracestate) metadata.tracestate = tracestate;
  await trx("outbox").insert({
    message_id: messageId,
    kind: contract.kind,
    name: contract.name,
    subject: topology.subject(contract.kind, contract.name),
    payload: JSON.stringify(payload),
    metadata,
  });
  return { messageId, payload };
}
