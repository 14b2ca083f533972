// Read-back helpers of the fulfilment, refund and ops tests: what the gateway simulator received for
// one ticket, which messages the system published for it, and what its handlers recorded.
import { randomUUID } from "node:crypto";
import type { TestSystem } from "./system.ts";

export const receiptsFor = (sys: TestSystem, ticketId: string) =>
  [...sys.sim.state.receipts.values()].filter((r) => r.ticket_id === ticketId);
export const voidsFor = (sys: TestSystem, ticketId: string) => [...sys.sim.state.voids.values()].filter((v) => v.ticket_id === ticketId);
export const refundsFor = (sys: TestSystem, ticketId: string) =>
  [...sys.sim.state.refunds.values()].filter((r) => r.payment_reference === ticketId);
export const filesFor = (sys: TestSystem, ticketId: string) => [...sys.sim.state.files].filter(([id]) => id.startsWith(ticketId));
export const rowsFor = (sys: TestSystem, sheet: string, ticketId: string) =>
  (sys.sim.state.sheets.get(sheet) ?? []).filter((row) => row[0] === ticketId);
/** Gateway calls whose path or body names the ticket, in order. */
export const callsFor = (sys: TestSystem, ticketId: string) =>
  sys.sim.state.calls.filter((call) => call.path.includes(ticketId) || JSON.stringify(call.body ?? "").includes(ticketId));

/** Payloads of one event for one ticket as the data lake stored them. */
export async function lakeEvents(sys: TestSystem, name: string, ticketId: string): Promise<any[]> {
  const rows = await sys.node.runtime
    .db("events")
    .where({ event_name: name })
    .where("event_payload", "@>", JSON.stringify({ ticket_id: ticketId }));
  return rows.map((row) => row.event_payload);
}

/** Messages of one name for one ticket the outbox accepted (published or not), oldest first. */
export async function outboxMessages(sys: TestSystem, name: string, ticketId: string): Promise<{ message_id: string; payload: any }[]> {
  const rows = await sys.node.runtime
    .db("outbox")
    .select("message_id", "payload")
    .where({ name })
    .whereLike("payload", `%"ticket_id":"${ticketId}"%`)
    .orderBy("seq");
  return rows.map((row) => ({ message_id: row.message_id, payload: JSON.parse(row.payload) }));
}

/** The inbox marker a handler commits together with its effects. */
export async function handled(sys: TestSystem, durable: string, key: string): Promise<boolean> {
  return (await sys.node.runtime.db("processed_messages").where({ handler: durable, key }).first()) !== undefined;
}

export async function deadLetters(
  sys: TestSystem,
  durable: string,
): Promise<{ message_id: string; deliveries: number; error: string; payload: string }[]> {
  return sys.node.runtime.db("dead_letters").where({ handler: durable }).orderBy("id");
}

/** A dead letter put straight into the store (a StoreTicket message that failed), for admin routes to find; its id. */
export async function insertDeadLetter(sys: TestSystem, error = "original error"): Promise<string> {
  const [{ id }] = await sys.node.runtime
    .db("dead_letters")
    .insert({
      handler: "tickets-StoreTicket",
      service: "tickets",
      message_id: randomUUID(),
      name: "TicketBookingConfirmed_v1",
      subject: "events.TicketBookingConfirmed_v1",
      payload: "{}",
      error,
      deliveries: 4,
    })
    .returning("id");
  return String(id);
}

/** Every table a request can write: business rows, read models, the data lake, outbox, inbox, idempotency, dead letters. */
const EFFECT_TABLES = [
  "shows",
  "bookings",
  "tickets",
  "read_model_ops_bookings",
  "ops_tickets_without_booking",
  "ops_ticket_bookings",
  "ops_read_model_rebuilds",
  "events",
  "outbox",
  "processed_messages",
  "idempotency_keys",
  "dead_letters",
];

/**
 * A fingerprint of everything the system has done: row counts of every effect table, the columns
 * requests update in place, messages in every JetStream stream and calls the gateway received. Equal before and after ⇒ no effect.
 */
export async function effectCounts(sys: TestSystem): Promise<Record<string, number | string>> {
  const columns = [
    ...EFFECT_TABLES.map((table) => `(SELECT count(*) FROM ${table})::int AS ${table}`),
    // attempt records of keys not done yet: housekeeping removes settled ones whenever its timer runs
    `(SELECT count(*) FROM handler_attempts a
       WHERE NOT EXISTS (SELECT 1 FROM processed_messages p WHERE p.handler = a.handler AND p.key = a.key))::int AS unsettled_attempts`,
    // what requests update in place
    "(SELECT coalesce(sum(booked), 0) FROM shows)::int AS seats_booked",
    "(SELECT count(deleted_at) FROM tickets)::int AS tickets_deleted",
    "(SELECT md5(coalesce(string_agg(payload::text, ',' ORDER BY booking_id), '')) FROM read_model_ops_bookings) AS ops_documents",
  ].join(", ");
  const counts: Record<string, number | string> = (await sys.node.runtime.db.raw(`SELECT ${columns}`)).rows[0];
  const { jsm } = sys.node.runtime.backbone;
  for (const stream of Object.values(sys.node.runtime.topology.streams))
    counts[`stream ${stream}`] = (await jsm.streams.info(stream)).state.messages;
  counts["gateway calls"] = sys.sim.state.calls.length;
  return counts;
}
