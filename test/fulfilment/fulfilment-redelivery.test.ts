// Fulfilment handlers forced to fail after (or before) their gateway call and redelivered: still
// exactly one receipt, file and sheet row per ticket, and each follow-up event once.
import test from "ava";
import { randomUUID } from "node:crypto";
import { eventually, quiet, startTestSystem, type TestSystem } from "../support/system.ts";
import { callsFor, deadLetters, filesFor, handled, lakeEvents, outboxMessages, receiptsFor, rowsFor } from "../support/effects.ts";
import { maxDeliveriesOf } from "../../lib/messaging/consumer.ts";

let sys: TestSystem;
test.before(async () => {
  sys = await startTestSystem({ env: { SERVICES: "api,tickets,datalake" } });
});
test.after.always(async () => {
  await sys?.stop();
});

const ticketWith = (status: "confirmed" | "canceled") => ({
  ticket_id: randomUUID(),
  status,
  price: { amount: "42.00", currency: "EUR" },
  customer_email: "redelivery@example.com",
});
async function post(ticket: ReturnType<typeof ticketWith>) {
  const response = await sys.http("POST", "/api/tickets-status", { tickets: [ticket] }, { "Idempotency-Key": randomUUID() });
  if (response.status !== 200) throw new Error(`tickets-status answered ${response.status}: ${response.text}`);
}
const statusesOf = (sys: TestSystem, ticketId: string, method: string, pathPart: string) =>
  callsFor(sys, ticketId)
    .filter((call) => call.method === method && call.path.includes(pathPart))
    .map((call) => call.status);

test.serial("a receipt issued whose response is lost: the redelivery gets the same receipt, one TicketReceiptIssued_v1", async (t) => {
  const ticket = ticketWith("confirmed");
  sys.sim.failNext({ method: "PUT", path: "/receipts-api/receipts" }, 1, 500, { afterEffect: true });
  await post(ticket);
  await eventually(async () => (await lakeEvents(sys, "TicketReceiptIssued_v1", ticket.ticket_id)).length > 0);
  await eventually(() => quiet(sys));

  t.deepEqual(statusesOf(sys, ticket.ticket_id, "PUT", "/receipts-api/receipts"), [500, 200]);
  const receipts = receiptsFor(sys, ticket.ticket_id);
  t.is(receipts.length, 1);
  const issued = await lakeEvents(sys, "TicketReceiptIssued_v1", ticket.ticket_id);
  t.is(issued.length, 1);
  t.is(issued[0].receipt_number, receipts[0]!.number);
  t.is((await outboxMessages(sys, "TicketReceiptIssued_v1", ticket.ticket_id)).length, 1);
});

test.serial(
  "another copy of a confirmation, sent after every attempt of the first lost its receipt's answer, gets that same receipt: one receipt",
  async (t) => {
    const ticket = ticketWith("confirmed");
    // every delivery of the first copy issues (the same) receipt but loses the answer, until it is dead-lettered
    sys.sim.failNext({ method: "PUT", path: "/receipts-api/receipts" }, maxDeliveriesOf(sys.config), 500, { afterEffect: true });
    await post(ticket);
    await eventually(async () => (await deadLetters(sys, "tickets-IssueReceipt")).some((l) => l.payload.includes(ticket.ticket_id)));
    t.is(receiptsFor(sys, ticket.ticket_id).length, 1);

    // the partner sends the ticket again under a new Idempotency-Key: its own header, its own receipt key
    await post(ticket);
    await eventually(async () => (await lakeEvents(sys, "TicketReceiptIssued_v1", ticket.ticket_id)).length > 0);
    await eventually(() => quiet(sys));

    const receipts = receiptsFor(sys, ticket.ticket_id);
    t.is(receipts.length, 1, "the second copy asked with the first attempt's key and got the same receipt");
    const issued = await lakeEvents(sys, "TicketReceiptIssued_v1", ticket.ticket_id);
    t.is(issued.length, 1);
    t.is(issued[0].receipt_number, receipts[0]!.number);
    t.deepEqual(await sys.node.runtime.db("handler_attempts").where({ handler: "tickets-IssueReceipt", key: ticket.ticket_id }), []);
  },
);

test.serial("a file uploaded whose response is lost: the redelivery's 409 counts as printed, one TicketPrinted_v1", async (t) => {
  const ticket = ticketWith("confirmed");
  const path = `/files-api/files/${ticket.ticket_id}-ticket.html/content`;
  sys.sim.failNext({ method: "PUT", path }, 1, 500, { afterEffect: true });
  await post(ticket);
  await eventually(async () => (await lakeEvents(sys, "TicketPrinted_v1", ticket.ticket_id)).length > 0);
  await eventually(() => quiet(sys));

  t.deepEqual(statusesOf(sys, ticket.ticket_id, "PUT", "/files-api/"), [500, 409]);
  t.is(filesFor(sys, ticket.ticket_id).length, 1);
  t.is((await lakeEvents(sys, "TicketPrinted_v1", ticket.ticket_id)).length, 1);
  t.is((await outboxMessages(sys, "TicketPrinted_v1", ticket.ticket_id)).length, 1);
});

for (const [status, sheet, handler] of [
  ["confirmed", "tickets-to-print", "AppendToTracker"],
  ["canceled", "tickets-to-refund", "TicketRefundToSheet"],
] as const) {
  test.serial(`${handler}: an append whose response is lost is read back on redelivery, one row in ${sheet}`, async (t) => {
    const ticket = ticketWith(status);
    sys.sim.failNext({ method: "POST", path: `/spreadsheets-api/sheets/${sheet}/rows` }, 1, 500, { afterEffect: true });
    await post(ticket);
    await eventually(() => handled(sys, `tickets-${handler}`, ticket.ticket_id));
    await eventually(() => quiet(sys));

    t.deepEqual(rowsFor(sys, sheet, ticket.ticket_id), [[ticket.ticket_id, "redelivery@example.com", "42.00", "EUR"]]);
    // the first append took effect but failed; the redelivery read the sheet and did not append again
    const sheetCalls = sys.sim.state.calls.filter((call) => call.path === `/spreadsheets-api/sheets/${sheet}/rows`).slice(-2);
    t.deepEqual(
      sheetCalls.map((call) => `${call.method} ${call.status}`),
      ["POST 500", "GET 200"],
    );
  });

  test.serial(
    `${handler}: an append that timed out while the partner was still applying it is read back only once the partner settled: one row in ${sheet}`,
    async (t) => {
      const ticket = ticketWith(status);
      const rowsPath = `/spreadsheets-api/sheets/${sheet}/rows`;
      // the partner applies the append only after the client gave up on it (and after the redelivery's backoff)
      const appliedAfterMs = sys.config.GATEWAY_TIMEOUT_MS + 600;
      t.true(appliedAfterMs < sys.config.GATEWAY_TIMEOUT_MS + sys.config.GATEWAY_SETTLE_MS);
      // 202 marks the delayed call in the simulator's log; the client gave up on it long before
      sys.sim.failNext({ method: "POST", path: rowsPath }, 1, 202, { afterEffect: true, delayMs: appliedAfterMs });
      await post(ticket);
      await eventually(() => handled(sys, `tickets-${handler}`, ticket.ticket_id));
      await eventually(() => sys.sim.state.calls.some((call) => call.path === rowsPath && call.status === 202));
      await eventually(() => quiet(sys));

      t.deepEqual(rowsFor(sys, sheet, ticket.ticket_id), [[ticket.ticket_id, "redelivery@example.com", "42.00", "EUR"]]);
      const sheetCalls = sys.sim.state.calls.filter((call) => call.path === rowsPath).slice(-2);
      t.deepEqual(
        sheetCalls.map((call) => `${call.method} ${call.status}`),
        ["POST 202", "GET 200"],
        "the redelivery waited for the partner, read the row back and did not append it again",
      );
    },
  );

  test.serial(
    `${handler}: another copy of the ticket's message, sent after an attempt left its append in doubt, reads the sheet back: one row in ${sheet}`,
    async (t) => {
      const ticket = ticketWith(status);
      const rowsPath = `/spreadsheets-api/sheets/${sheet}/rows`;
      // the first copy appends but loses the answer, then cannot read the sheet back until it is dead-lettered
      sys.sim.failNext({ method: "POST", path: rowsPath }, 1, 500, { afterEffect: true });
      sys.sim.failNext({ method: "GET", path: rowsPath }, maxDeliveriesOf(sys.config) - 1, 500);
      await post(ticket);
      await eventually(async () => (await deadLetters(sys, `tickets-${handler}`)).some((l) => l.payload.includes(ticket.ticket_id)));

      // the partner sends the ticket again under a new Idempotency-Key: a new message, first delivered now
      await post(ticket);
      await eventually(() => handled(sys, `tickets-${handler}`, ticket.ticket_id));
      await eventually(() => quiet(sys));

      t.deepEqual(rowsFor(sys, sheet, ticket.ticket_id), [[ticket.ticket_id, "redelivery@example.com", "42.00", "EUR"]]);
      const sheetCalls = sys.sim.state.calls.filter((call) => call.path === rowsPath).slice(-(maxDeliveriesOf(sys.config) + 1));
      t.deepEqual(
        sheetCalls.map((call) => `${call.method} ${call.status}`),
        ["POST 500", ...Array(maxDeliveriesOf(sys.config) - 1).fill("GET 500"), "GET 200"],
        "the second copy read the sheet and did not append",
      );
      t.deepEqual(
        await sys.node.runtime.db("handler_attempts").where({ handler: `tickets-${handler}`, key: ticket.ticket_id }),
        [],
        "the committed attempt cleared its record",
      );
    },
  );

  test.serial(`${handler}: an append refused before it took effect is appended on redelivery, one row in ${sheet}`, async (t) => {
    const ticket = ticketWith(status);
    sys.sim.failNext({ method: "POST", path: `/spreadsheets-api/sheets/${sheet}/rows` }, 2, 503);
    await post(ticket);
    await eventually(() => handled(sys, `tickets-${handler}`, ticket.ticket_id));
    await eventually(() => quiet(sys));

    t.deepEqual(rowsFor(sys, sheet, ticket.ticket_id), [[ticket.ticket_id, "redelivery@example.com", "42.00", "EUR"]]);
    const sheetCalls = sys.sim.state.calls.filter((call) => call.path === `/spreadsheets-api/sheets/${sheet}/rows`).slice(-5);
    t.deepEqual(
      sheetCalls.map((call) => `${call.method} ${call.status}`),
      ["POST 503", "GET 200", "POST 503", "GET 200", "POST 200"],
    );
  });
}

test.serial("a permanent gateway refusal (400) dead-letters PrintTicket at once; the other handlers still do their part", async (t) => {
  const ticket = ticketWith("confirmed");
  sys.sim.failNext({ method: "PUT", path: `/files-api/files/${ticket.ticket_id}-ticket.html/content` }, 1, 400);
  await post(ticket);
  const letter = await eventually(async () =>
    (await deadLetters(sys, "tickets-PrintTicket")).find((l) => l.payload.includes(ticket.ticket_id)),
  );
  await eventually(() => quiet(sys));

  t.is(letter!.deliveries, 1);
  t.regex(letter!.error, /status 400/);
  t.deepEqual(filesFor(sys, ticket.ticket_id), []);
  t.deepEqual(await lakeEvents(sys, "TicketPrinted_v1", ticket.ticket_id), []);
  t.false(await handled(sys, "tickets-PrintTicket", ticket.ticket_id));
  t.is(receiptsFor(sys, ticket.ticket_id).length, 1);
  t.is(rowsFor(sys, "tickets-to-print", ticket.ticket_id).length, 1);
});
