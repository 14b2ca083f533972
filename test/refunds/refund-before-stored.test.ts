// A refund requested after the confirmation was accepted but before StoreTicket wrote the ticket:
// accepted (202), retried until the ticket is stored, then refunded exactly once.
import test from "ava";
import { randomUUID } from "node:crypto";
import { TicketBookingConfirmed_v1 } from "../../contracts/index.ts";
import { writeToOutbox } from "../../lib/messaging/outbox.ts";
import { confirmationAwaitingStoreQuery } from "../../services/refunds.repository.ts";
import { eventually, quiet, startTestSystem, type TestSystem } from "../support/system.ts";
import { deadLetters, lakeEvents, outboxMessages, refundsFor, voidsFor } from "../support/effects.ts";

let sys: TestSystem;
test.before(async () => {
  // No tickets service yet, so nothing stores the ticket until the test starts one; a delivery
  // budget long enough to outlast that start.
  sys = await startTestSystem({ env: { SERVICES: "api,refunds,datalake", CONSUMER_RETRY_BUDGET_MS: "22750" } });
});
test.after.always(async () => {
  await sys?.stop();
});

test("a refund of a ticket whose confirmation is not stored yet is accepted and happens once the ticket is stored", async (t) => {
  const ticketId = randomUUID();
  await sys.node.runtime.db.transaction((trx) =>
    writeToOutbox(trx, sys.node.runtime.topology, {
      contract: TicketBookingConfirmed_v1,
      body: { booking_id: "", ticket_id: ticketId, customer_email: "early@example.com", price: { amount: "12.50", currency: "EUR" } },
    }),
  );

  const response = await sys.http("PUT", `/api/ticket-refund/${ticketId}`);
  t.is(response.status, 202);
  const { jsm } = sys.node.runtime.backbone;
  await eventually(
    async () => (await jsm.consumers.info(sys.node.runtime.topology.streams.command, "refunds-RefundTicket")).num_redelivered > 0,
  );
  t.deepEqual(voidsFor(sys, ticketId), []);

  await sys.startNode({ SERVICES: "tickets" });
  await eventually(async () => (await lakeEvents(sys, "TicketRefunded_v1", ticketId)).length > 0, { timeoutMs: 30_000 });
  await eventually(() => quiet(sys));

  t.is(voidsFor(sys, ticketId).length, 1);
  t.is(refundsFor(sys, ticketId).length, 1);
  t.is((await outboxMessages(sys, "TicketRefunded_v1", ticketId)).length, 1);
  t.deepEqual(await deadLetters(sys, "refunds-RefundTicket"), []);
});

test("whether a ticket is being stored is answered by an index of the outbox, not a scan of its payloads", async (t) => {
  const plan = await sys.node.runtime.db.transaction(async (trx) => {
    await trx.raw("SET LOCAL enable_seqscan = off");
    const { sql, bindings } = confirmationAwaitingStoreQuery(trx, randomUUID().toUpperCase()).toSQL().toNative();
    return (await trx.raw(`EXPLAIN ${sql}`.replace(/\$(\d+)/g, "?"), bindings as never[])).rows
      .map((row: { "QUERY PLAN": string }) => row["QUERY PLAN"])
      .join("\n");
  });
  t.regex(plan, /outbox_confirmed_ticket/);
  t.regex(plan, /Index Cond: \(lower\(/, "the ticket id is looked up in the index, not filtered row by row");
  t.notRegex(plan, /Seq Scan/);
});
