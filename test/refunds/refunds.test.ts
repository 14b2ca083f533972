// The original's refund scenarios (a refund voids the receipt and refunds the payment once) and the refund endpoint's edges, over HTTP against the gateway
// simulator: exactly one void, one payment refund and one TicketRefunded_v1 per ticket.
import test, { type ExecutionContext } from "ava";
import { randomUUID } from "node:crypto";
import { RefundTicket } from "../../contracts/index.ts";
import { writeToOutbox } from "../../lib/messaging/outbox.ts";
import { eventually, quiet, startTestSystem, type TestSystem } from "../support/system.ts";
import { callsFor, deadLetters, handled, lakeEvents, outboxMessages, receiptsFor, refundsFor, voidsFor } from "../support/effects.ts";
import { maxDeliveriesOf } from "../../lib/messaging/consumer.ts";

let sys: TestSystem;
test.before(async () => {
  sys = await startTestSystem({ env: { SERVICES: "api,tickets,refunds,datalake" } });
});
test.after.always(async () => {
  await sys?.stop();
});

const REASON = "customer requested refund";
const outboxSize = async () => Number((await sys.node.runtime.db("outbox").count({ n: "*" }))[0]!.n);
const refund = (ticketId: string, headers: Record<string, string> = {}) =>
  sys.http("PUT", `/api/ticket-refund/${ticketId}`, undefined, headers);

/** A ticket confirmed over HTTP, stored and receipted. */
async function confirmedTicket(): Promise<string> {
  const ticketId = randomUUID();
  const ticket = {
    ticket_id: ticketId,
    status: "confirmed",
    price: { amount: "30.00", currency: "EUR" },
    customer_email: "refund@example.com",
  };
  const response = await sys.http("POST", "/api/tickets-status", { tickets: [ticket] }, { "Idempotency-Key": randomUUID() });
  if (response.status !== 200) throw new Error(`tickets-status answered ${response.status}`);
  await eventually(async () => (await lakeEvents(sys, "TicketReceiptIssued_v1", ticketId)).length > 0);
  await eventually(() => quiet(sys));
  return ticketId;
}

async function refunded(ticketId: string): Promise<void> {
  await eventually(async () => (await lakeEvents(sys, "TicketRefunded_v1", ticketId)).length > 0);
  await eventually(() => quiet(sys));
}

function assertOneRefund(t: ExecutionContext, ticketId: string) {
  t.deepEqual(
    voidsFor(sys, ticketId).map(({ voided_at: _, ...v }) => v),
    [{ ticket_id: ticketId, reason: REASON, idempotent_id: `refund-${ticketId}` }],
  );
  t.deepEqual(
    refundsFor(sys, ticketId).map(({ refunded_at: _, ...r }) => r),
    [{ payment_reference: ticketId, reason: REASON, deduplication_id: `refund-${ticketId}` }],
  );
}

test.serial(
  "scenario 6: a refund voids the ticket's receipt, refunds its payment and publishes TicketRefunded_v1 with the command's header",
  async (t) => {
    const ticketId = await confirmedTicket();
    const traceId = "0af7651916cd43dd8448eb211c80319c";
    const response = await refund(ticketId, { "Correlation-ID": "scenario-6", traceparent: `00-${traceId}-b7ad6b7169203331-01` });
    t.is(response.status, 202);
    t.is(response.text, "");
    await refunded(ticketId);

    assertOneRefund(t, ticketId);
    const [receipt] = receiptsFor(sys, ticketId);
    t.is(receipt!.voided, true);
    t.is(receipt!.void_reason, REASON);

    const [command] = await outboxMessages(sys, "RefundTicket", ticketId);
    t.is(command!.payload.header.idempotency_key, `refund-${ticketId}`);
    const events = await outboxMessages(sys, "TicketRefunded_v1", ticketId);
    t.is(events.length, 1);
    t.deepEqual(events[0]!.payload, { header: command!.payload.header, ticket_id: ticketId });
    t.not(events[0]!.message_id, command!.message_id);
    t.deepEqual(await lakeEvents(sys, "TicketRefunded_v1", ticketId), [events[0]!.payload]);

    const calls = callsFor(sys, ticketId).filter(
      (call) => call.path === "/receipts-api/void-receipt" || call.path === "/payments-api/refunds",
    );
    t.deepEqual(
      calls.map((call) => call.path),
      ["/receipts-api/void-receipt", "/payments-api/refunds"],
    );
    for (const call of calls) {
      t.is(call.headers["correlation-id"], "scenario-6");
      t.is(String(call.headers.traceparent).split("-")[1], traceId);
    }
  },
);

test.serial(
  "scenario 7: the refund PUT three times (one after another, and concurrently) is one command, one void, one refund, one event",
  async (t) => {
    const sequential = await confirmedTicket();
    const concurrent = await confirmedTicket();
    const answers = [await refund(sequential), await refund(sequential), await refund(sequential)];
    answers.push(...(await Promise.all([refund(concurrent), refund(concurrent), refund(concurrent)])));
    t.deepEqual(
      answers.map((a) => a.status),
      [202, 202, 202, 202, 202, 202],
    );
    t.deepEqual(
      answers.slice(0, 3).map((a) => a.headers.get("idempotent-replayed")),
      [null, "true", "true"],
    );
    await refunded(sequential);
    await refunded(concurrent);

    for (const ticketId of [sequential, concurrent]) {
      t.is((await outboxMessages(sys, "RefundTicket", ticketId)).length, 1);
      assertOneRefund(t, ticketId);
      t.is((await outboxMessages(sys, "TicketRefunded_v1", ticketId)).length, 1);
      t.is((await lakeEvents(sys, "TicketRefunded_v1", ticketId)).length, 1);
    }
  },
);

test.serial("the ticket id in capitals is the same ticket: no second command or effect", async (t) => {
  const ticketId = await confirmedTicket();
  t.is((await refund(ticketId)).status, 202);
  const upper = await refund(ticketId.toUpperCase());
  t.is(upper.status, 202);
  t.is(upper.headers.get("idempotent-replayed"), "true");
  await refunded(ticketId);
  t.is((await outboxMessages(sys, "RefundTicket", ticketId)).length, 1);
  assertOneRefund(t, ticketId);
});

for (const [step, path] of [
  ["void", "/receipts-api/void-receipt"],
  ["payment refund", "/payments-api/refunds"],
] as const) {
  test.serial(`a ${step} whose response is lost is redelivered: one void, one refund, one TicketRefunded_v1`, async (t) => {
    const ticketId = await confirmedTicket();
    sys.sim.failNext({ method: "PUT", path }, 1, 500, { afterEffect: true });
    t.is((await refund(ticketId)).status, 202);
    await refunded(ticketId);

    // the lost answer, then the redelivery's repeat, which the gateway deduplicates
    t.deepEqual(
      callsFor(sys, ticketId)
        .filter((call) => call.path === path)
        .map((call) => call.status),
      [500, 200],
    );
    assertOneRefund(t, ticketId);
    t.is((await outboxMessages(sys, "TicketRefunded_v1", ticketId)).length, 1);
    t.is((await lakeEvents(sys, "TicketRefunded_v1", ticketId)).length, 1);
  });
}

test.serial("a permanent refusal of the void (400) dead-letters the command at once: no refund, no event", async (t) => {
  const ticketId = await confirmedTicket();
  sys.sim.failNext({ method: "PUT", path: "/receipts-api/void-receipt" }, 1, 400);
  t.is((await refund(ticketId)).status, 202);
  const letter = await eventually(async () => (await deadLetters(sys, "refunds-RefundTicket")).find((l) => l.payload.includes(ticketId)));
  await eventually(() => quiet(sys));

  t.is(letter!.deliveries, 1);
  t.deepEqual(voidsFor(sys, ticketId), []);
  t.deepEqual(refundsFor(sys, ticketId), []);
  t.deepEqual(await outboxMessages(sys, "TicketRefunded_v1", ticketId), []);
  t.false(await handled(sys, "refunds-RefundTicket", ticketId));
});

test.serial("refunding an unknown ticket is 404 and sends nothing", async (t) => {
  const before = await outboxSize();
  const ticketId = randomUUID();
  const response = await refund(ticketId);
  t.is(response.status, 404);
  t.deepEqual(response.body, { error: `ticket ${ticketId} not found` });
  t.is(await outboxSize(), before);
});

test.serial("a malformed ticket id is 400 with the field named, and sends nothing", async (t) => {
  const before = await outboxSize();
  for (const bad of ["not-a-uuid", "123", "3f1c0a4e-0000-0000-0000-00000000000g", "%20"]) {
    const response = await refund(bad);
    t.is(response.status, 400, bad);
    t.deepEqual(response.body.details, [{ field: "ticket_id", message: "must be a UUID" }], bad);
  }
  t.is((await sys.http("PUT", "/api/ticket-refund/")).status, 404);
  t.is(await outboxSize(), before);
});

test.serial("refunding a canceled ticket is 409 and sends nothing", async (t) => {
  const ticketId = randomUUID();
  const ticket = {
    ticket_id: ticketId,
    status: "canceled",
    price: { amount: "30.00", currency: "EUR" },
    customer_email: "refund@example.com",
  };
  t.is((await sys.http("POST", "/api/tickets-status", { tickets: [ticket] }, { "Idempotency-Key": randomUUID() })).status, 200);
  await eventually(() => sys.node.runtime.db("tickets").where({ ticket_id: ticketId }).first());
  const before = await outboxSize();
  const response = await refund(ticketId);
  t.is(response.status, 409);
  t.regex(response.body.error, /was canceled/);
  t.is(await outboxSize(), before);
});

test.serial(
  "a RefundTicket command for a ticket that was never stored goes to the dead letters after its retries, never to the gateway",
  async (t) => {
    const ticketId = randomUUID();
    await sys.node.runtime.db.transaction((trx) =>
      writeToOutbox(trx, sys.node.runtime.topology, {
        contract: RefundTicket,
        body: { ticket_id: ticketId },
        idempotencyKey: `refund-${ticketId}`,
      }),
    );
    const letter = await eventually(async () => (await deadLetters(sys, "refunds-RefundTicket")).find((l) => l.payload.includes(ticketId)));
    await eventually(() => quiet(sys));

    t.is(letter!.deliveries, maxDeliveriesOf(sys.config));
    t.regex(letter!.error, /not stored/);
    t.deepEqual(callsFor(sys, ticketId), []);
    t.deepEqual(await outboxMessages(sys, "TicketRefunded_v1", ticketId), []);
  },
);
