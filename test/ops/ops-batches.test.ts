import test from "ava";
import { randomUUID } from "node:crypto";
import { BookingMade_v1, TicketBookingConfirmed_v1, TicketPrinted_v1 } from "../../contracts/index.ts";
import { writeToOutbox, type OutboxMessage } from "../../lib/messaging/outbox.ts";
import { OPS_TABLE, toView, ZERO_TIME } from "../../services/ops.read-model.ts";
import { eventually, settle, startTestSystem, type TestSystem } from "../support/system.ts";

// The ops handlers apply the events that arrive together in one transaction. One event that cannot
// apply yet (its booking is not in the read model) fails that batch: the others must still be
// applied, once, and the early one must be applied when its booking arrives, none dead-lettered.

let sys: TestSystem;
test.before(async () => {
  sys = await startTestSystem({ env: { SERVICES: "ops", CONSUMER_RETRY_BUDGET_MS: "60000" } });
});
test.after.always(async () => {
  await sys?.stop();
});

async function publish(messages: OutboxMessage[]): Promise<void> {
  await sys.node.runtime.db.transaction(async (trx) => {
    for (const message of messages) await writeToOutbox(trx, sys.node.runtime.topology, message);
  });
}

const bookingMade = (booking_id: string): OutboxMessage => ({
  contract: BookingMade_v1,
  body: { booking_id, show_id: randomUUID(), number_of_tickets: 1, customer_email: "batch@example.com" },
});
const confirmed = (booking_id: string, ticket_id: string): OutboxMessage => ({
  contract: TicketBookingConfirmed_v1,
  body: { booking_id, ticket_id, customer_email: "batch@example.com", price: { amount: "10.00", currency: "EUR" } },
});
const printed = (ticket_id: string): OutboxMessage => ({ contract: TicketPrinted_v1, body: { ticket_id, file_name: `${ticket_id}.html` } });

async function document(bookingId: string) {
  const row = await sys.node.runtime.db(OPS_TABLE).where({ booking_id: bookingId }).first("payload");
  return row ? toView(row.payload) : undefined;
}

test("events of one batch beside one whose booking is not there yet: all applied once, the early one when its booking arrives", async (t) => {
  const present = randomUUID();
  const late = randomUUID();
  await publish([bookingMade(present)]);
  await eventually(() => document(present));

  const tickets = Array.from({ length: 20 }, () => randomUUID());
  const lateTicket = randomUUID();
  await publish([
    ...tickets.slice(0, 10).map((id) => confirmed(present, id)),
    confirmed(late, lateTicket),
    ...tickets.slice(10).map((id) => confirmed(present, id)),
  ]);
  await publish(tickets.map(printed));

  const applied = await eventually(async () => {
    const doc = await document(present);
    return doc && tickets.every((id) => doc.tickets[id] && doc.tickets[id].printed_at !== ZERO_TIME) ? doc : undefined;
  });
  t.is(Object.keys(applied!.tickets).length, tickets.length);
  t.true(
    tickets.every((id) => applied!.tickets[id]!.confirmed_at !== ZERO_TIME && applied!.tickets[id]!.printed_file_name === `${id}.html`),
  );

  await settle(300);
  await publish([bookingMade(late)]);
  const lateDoc = await eventually(async () => {
    const doc = await document(late);
    return doc?.tickets[lateTicket] ? doc : undefined;
  });
  t.not(lateDoc!.tickets[lateTicket]!.confirmed_at, ZERO_TIME);
  t.is(Number((await sys.node.runtime.db("dead_letters").count({ n: "*" }))[0]!.n), 0);
});
