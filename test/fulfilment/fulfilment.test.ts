// The original's fulfilment scenarios (confirm, print, receipt, sheet rows) over HTTP against the gateway simulator: every effect at the
// gateway and every follow-up event counted, exactly one each.
import test from "ava";
import { randomUUID } from "node:crypto";
import { eventually, quiet, startTestSystem, type TestSystem } from "../support/system.ts";
import { callsFor, filesFor, handled, lakeEvents, outboxMessages, receiptsFor, rowsFor } from "../support/effects.ts";

let sys: TestSystem;
test.before(async () => {
  sys = await startTestSystem({ env: { SERVICES: "api,tickets,datalake" } });
});
test.after.always(async () => {
  await sys?.stop();
});

const confirmed = (price: { amount: string; currency: string }, customer_email: string) => ({
  ticket_id: randomUUID(),
  status: "confirmed",
  price,
  customer_email,
});
const postStatus = (body: unknown, key: string, headers: Record<string, string> = {}) =>
  sys.http("POST", "/api/tickets-status", body, { "Idempotency-Key": key, ...headers });

/** Waits until the ticket's receipt and print events exist and nothing else is in flight. */
async function fulfilled(ticketId: string): Promise<void> {
  await eventually(
    async () =>
      (await lakeEvents(sys, "TicketPrinted_v1", ticketId)).length > 0 &&
      (await lakeEvents(sys, "TicketReceiptIssued_v1", ticketId)).length > 0,
  );
  await eventually(() => handled(sys, "tickets-AppendToTracker", ticketId));
  await eventually(() => quiet(sys));
}

test.serial("scenario 1: a confirmed ticket is stored, printed, receipted and tracked, each exactly once", async (t) => {
  const ticket = confirmed({ amount: "50.30", currency: "GBP" }, "email@example.com");
  const key = randomUUID();
  const traceId = "4bf92f3577b34da6a3ce929d0e0e4736";
  const response = await postStatus({ tickets: [ticket] }, key, {
    "Correlation-ID": "scenario-1",
    traceparent: `00-${traceId}-00f067aa0ba902b7-01`,
  });
  t.is(response.status, 200);
  await fulfilled(ticket.ticket_id);

  const listed = (await sys.http("GET", "/api/tickets")).body.filter((x: { ticket_id: string }) => x.ticket_id === ticket.ticket_id);
  t.deepEqual(listed, [
    { ticket_id: ticket.ticket_id, price: { amount: "50.30", currency: "GBP" }, customer_email: "email@example.com", booking_id: null },
  ]);

  const fileName = `${ticket.ticket_id}-ticket.html`;
  t.deepEqual(filesFor(sys, ticket.ticket_id), [[fileName, `<html><body>Ticket ID: ${ticket.ticket_id}, Price: 50.30 GBP</body></html>`]]);

  const receipts = receiptsFor(sys, ticket.ticket_id);
  t.is(receipts.length, 1);
  t.deepEqual(receipts[0]!.price, { money_amount: "50.30", money_currency: "GBP" });
  t.is(receipts[0]!.idempotency_key, `${key}-${ticket.ticket_id}`);

  t.deepEqual(rowsFor(sys, "tickets-to-print", ticket.ticket_id), [[ticket.ticket_id, "email@example.com", "50.30", "GBP"]]);
  t.deepEqual(rowsFor(sys, "tickets-to-refund", ticket.ticket_id), []);

  const printed = await lakeEvents(sys, "TicketPrinted_v1", ticket.ticket_id);
  t.is(printed.length, 1);
  t.is(printed[0].file_name, fileName);
  const issued = await lakeEvents(sys, "TicketReceiptIssued_v1", ticket.ticket_id);
  t.is(issued.length, 1);
  t.is(issued[0].receipt_number, receipts[0]!.number);
  t.is(issued[0].issued_at, receipts[0]!.issued_at);
  t.is((await outboxMessages(sys, "TicketPrinted_v1", ticket.ticket_id)).length, 1);
  t.is((await outboxMessages(sys, "TicketReceiptIssued_v1", ticket.ticket_id)).length, 1);

  // the file upload, the receipt and the row; every call carries the request's correlation and trace
  const calls = callsFor(sys, ticket.ticket_id);
  t.deepEqual(calls.map((call) => `${call.method} ${call.path}`).sort(), [
    `POST /spreadsheets-api/sheets/tickets-to-print/rows`,
    `PUT /files-api/files/${fileName}/content`,
    `PUT /receipts-api/receipts`,
  ]);
  for (const call of calls) {
    t.is(call.headers["correlation-id"], "scenario-1");
    t.is(String(call.headers.traceparent).split("-")[1], traceId);
  }
});

test.serial("scenario 2: a canceled ticket gets exactly one row in tickets-to-refund and nothing printed or receipted", async (t) => {
  const ticket = { ...confirmed({ amount: "100.00", currency: "USD" }, "canceled@example.com"), status: "canceled" };
  t.is((await postStatus({ tickets: [ticket] }, randomUUID())).status, 200);
  await eventually(() => handled(sys, "tickets-TicketRefundToSheet", ticket.ticket_id));
  await eventually(() => quiet(sys));

  t.deepEqual(rowsFor(sys, "tickets-to-refund", ticket.ticket_id), [[ticket.ticket_id, "canceled@example.com", "100.00", "USD"]]);
  t.deepEqual(rowsFor(sys, "tickets-to-print", ticket.ticket_id), []);
  t.deepEqual(filesFor(sys, ticket.ticket_id), []);
  t.deepEqual(receiptsFor(sys, ticket.ticket_id), []);
});

test.serial("scenario 3: the same confirmation posted three times with one Idempotency-Key has one effect of each kind", async (t) => {
  const ticket = confirmed({ amount: "75.00", currency: "EUR" }, "idempotent@example.com");
  const key = randomUUID();
  for (let i = 0; i < 3; i++) t.is((await postStatus({ tickets: [ticket] }, key)).status, 200);
  await fulfilled(ticket.ticket_id);

  t.is((await outboxMessages(sys, "TicketBookingConfirmed_v1", ticket.ticket_id)).length, 1);
  t.is(receiptsFor(sys, ticket.ticket_id).length, 1);
  t.is(filesFor(sys, ticket.ticket_id).length, 1);
  t.deepEqual(rowsFor(sys, "tickets-to-print", ticket.ticket_id), [[ticket.ticket_id, "idempotent@example.com", "75.00", "EUR"]]);
  t.is((await lakeEvents(sys, "TicketPrinted_v1", ticket.ticket_id)).length, 1);
  t.is((await lakeEvents(sys, "TicketReceiptIssued_v1", ticket.ticket_id)).length, 1);
});

test.serial("a ticket confirmed three times under different Idempotency-Keys, concurrently, is still fulfilled once", async (t) => {
  const ticket = confirmed({ amount: "20.00", currency: "EUR" }, "resent@example.com");
  const responses = await Promise.all([0, 1, 2].map(() => postStatus({ tickets: [ticket] }, randomUUID())));
  t.deepEqual(
    responses.map((r) => r.status),
    [200, 200, 200],
  );
  t.is((await outboxMessages(sys, "TicketBookingConfirmed_v1", ticket.ticket_id)).length, 3);
  await fulfilled(ticket.ticket_id);

  t.is(receiptsFor(sys, ticket.ticket_id).length, 1);
  t.is(filesFor(sys, ticket.ticket_id).length, 1);
  t.is(rowsFor(sys, "tickets-to-print", ticket.ticket_id).length, 1);
  t.is((await lakeEvents(sys, "TicketPrinted_v1", ticket.ticket_id)).length, 1);
  t.is((await lakeEvents(sys, "TicketReceiptIssued_v1", ticket.ticket_id)).length, 1);
  t.is((await outboxMessages(sys, "TicketPrinted_v1", ticket.ticket_id)).length, 1);
  t.is((await outboxMessages(sys, "TicketReceiptIssued_v1", ticket.ticket_id)).length, 1);
});
