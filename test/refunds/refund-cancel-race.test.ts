// A refund request and the partner's cancellation of the same ticket: whichever comes first refunds
// it, the other does nothing — never a void and payment refund and a tickets-to-refund row too.
import test from "ava";
import { randomUUID } from "node:crypto";
import { eventually, quiet, startTestSystem, type TestSystem } from "../support/system.ts";
import { handled, lakeEvents, refundsFor, rowsFor, voidsFor } from "../support/effects.ts";

let sys: TestSystem;
test.before(async () => {
  // retries outlast the void outage the first test holds open
  sys = await startTestSystem({ env: { SERVICES: "api,tickets,refunds,datalake", CONSUMER_RETRY_BUDGET_MS: "120000" } });
});
test.after.always(async () => {
  await sys?.stop();
});

const VOID = "/receipts-api/void-receipt";

async function ticketWithStatus(ticketId: string, status: "confirmed" | "canceled"): Promise<void> {
  const ticket = { ticket_id: ticketId, status, price: { amount: "30.00", currency: "EUR" }, customer_email: "race@example.com" };
  const response = await sys.http("POST", "/api/tickets-status", { tickets: [ticket] }, { "Idempotency-Key": randomUUID() });
  if (response.status !== 200) throw new Error(`tickets-status answered ${response.status}`);
}

async function storedTicket(): Promise<string> {
  const ticketId = randomUUID();
  await ticketWithStatus(ticketId, "confirmed");
  await eventually(async () => (await lakeEvents(sys, "TicketReceiptIssued_v1", ticketId)).length > 0);
  await eventually(() => quiet(sys));
  return ticketId;
}

test.serial("a cancellation that lands while the refund is still retrying wins: a sheet row, and no void or payment refund", async (t) => {
  const ticketId = await storedTicket();
  sys.sim.failNext({ method: "PUT", path: VOID }, 1_000_000, 503);
  t.is((await sys.http("PUT", `/api/ticket-refund/${ticketId}`)).status, 202);
  await eventually(() => sys.sim.state.calls.some((call) => call.path === VOID && call.status === 503));

  await ticketWithStatus(ticketId, "canceled");
  await eventually(() => rowsFor(sys, "tickets-to-refund", ticketId).length > 0);
  sys.sim.clearFaults();
  await eventually(() => handled(sys, "refunds-RefundTicket", ticketId));
  await eventually(() => quiet(sys));

  t.deepEqual(voidsFor(sys, ticketId), []);
  t.deepEqual(refundsFor(sys, ticketId), []);
  t.is(rowsFor(sys, "tickets-to-refund", ticketId).length, 1);
});

test.serial("a cancellation after the refund went through adds no tickets-to-refund row", async (t) => {
  const ticketId = await storedTicket();
  t.is((await sys.http("PUT", `/api/ticket-refund/${ticketId}`)).status, 202);
  await eventually(async () => (await lakeEvents(sys, "TicketRefunded_v1", ticketId)).length > 0);

  await ticketWithStatus(ticketId, "canceled");
  await eventually(() => handled(sys, "tickets-TicketRefundToSheet", ticketId));
  await eventually(() => quiet(sys));

  t.is(voidsFor(sys, ticketId).length, 1);
  t.is(refundsFor(sys, ticketId).length, 1);
  t.deepEqual(rowsFor(sys, "tickets-to-refund", ticketId), []);
});
