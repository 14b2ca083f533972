import test from "ava";
import { randomUUID } from "node:crypto";
import { migrationSource } from "../../migrations/index.ts";
import { ZERO_TIME } from "../../services/ops.read-model.ts";
import { outboxMessages, receiptsFor } from "../support/effects.ts";
import { eventually, quiet, startTestSystem, type TestSystem } from "../support/system.ts";

let sys: TestSystem;
test.before(async () => {
  sys = await startTestSystem({ env: { SERVICES: "api,tickets,shows,bookings,ops,datalake,refunds", CONSUMER_RETRY_BUDGET_MS: "1500" } });
});
test.after.always(async () => {
  await sys?.stop();
});

const db = () => sys.node.runtime.db;

test.serial(
  "an upper-case ticket id is one ticket everywhere: stored, reported, refunded and replayed under its lower-case form",
  async (t) => {
    const show = await sys.http("POST", "/api/shows", {
      dead_nation_id: randomUUID().toUpperCase(),
      number_of_tickets: 5,
      start_time: "2027-05-01T20:00:00Z",
      title: "Casing",
      venue: "Hall",
    });
    t.is(show.status, 201);
    const booking = await sys.http("POST", "/api/book-tickets", {
      show_id: show.body.show_id.toUpperCase(),
      number_of_tickets: 1,
      customer_email: "case@example.com",
    });
    t.is(booking.status, 201);
    const bookingId: string = booking.body.booking_id;
    await eventually(() => db()("read_model_ops_bookings").where({ booking_id: bookingId }).first());

    const ticketId = randomUUID();
    const confirmation = (id: string, booking: string) => ({
      tickets: [
        {
          ticket_id: id,
          booking_id: booking,
          status: "confirmed",
          price: { amount: "20.00", currency: "EUR" },
          customer_email: "case@example.com",
        },
      ],
    });
    const key = randomUUID();
    t.is(
      (
        await sys.http("POST", "/api/tickets-status", confirmation(ticketId.toUpperCase(), bookingId.toUpperCase()), {
          "Idempotency-Key": key,
        })
      ).status,
      200,
    );
    const replay = await sys.http("POST", "/api/tickets-status", confirmation(ticketId, bookingId), { "Idempotency-Key": key });
    t.is(replay.status, 200);
    t.is(replay.headers.get("idempotent-replayed"), "true", "the same confirmation in another casing is the same request");

    const receipted = async () => (await sys.http("GET", `/api/ops/bookings/${bookingId}`)).body.tickets?.[ticketId];
    await eventually(async () => (await receipted())?.receipt_issued_at !== ZERO_TIME && (await receipted()) !== undefined);
    t.is((await sys.http("PUT", `/api/ticket-refund/${ticketId.toUpperCase()}`)).status, 202);
    await eventually(async () => (await receipted())?.refunded_at !== ZERO_TIME);
    await eventually(() => quiet(sys));

    const document = (await sys.http("GET", `/api/ops/bookings/${bookingId}`)).body;
    t.deepEqual(Object.keys(document.tickets), [ticketId]);
    const published = await outboxMessages(sys, "TicketBookingConfirmed_v1", ticketId);
    t.is(published.length, 1);
    t.is(published[0]!.payload.booking_id, bookingId);
    t.false(
      JSON.stringify(await db()("outbox").select("payload")).includes(ticketId.toUpperCase()),
      "no message names the upper-case form",
    );
    t.is(receiptsFor(sys, ticketId).length, 1);
    t.deepEqual(await db()("dead_letters").select("handler", "error"), [], "no handler gave up on the ticket");
  },
);

test.serial("the migration folds upper-case ticket keys of the ops read model and of tickets without booking", async (t) => {
  const bookingId = randomUUID();
  const upper = randomUUID().toUpperCase();
  const both = randomUUID();
  const ticket = (receipt: string) => ({ receipt_number: receipt, customer_email: "m@example.com" });
  const payload = {
    booking_id: bookingId,
    booked_at: "2026-01-01T00:00:00Z",
    tickets: { [upper]: ticket("A"), [both.toUpperCase()]: ticket("old"), [both]: ticket("new") },
  };
  await db()("read_model_ops_bookings").insert({ booking_id: bookingId, booked_at: payload.booked_at, payload: JSON.stringify(payload) });
  const loose = randomUUID();
  await db()("ops_tickets_without_booking").insert([
    { ticket_id: loose.toUpperCase() },
    { ticket_id: both.toUpperCase() },
    { ticket_id: both },
  ]);

  const name = "20261201_023_lower_case_ticket_ids";
  await db().migrate.down({ name, migrationSource, disableMigrationsListValidation: true } as never);
  await db().migrate.up({ name, migrationSource, disableMigrationsListValidation: true } as never);

  const row = await db()("read_model_ops_bookings").where({ booking_id: bookingId }).first();
  t.deepEqual(row.payload.tickets, { [upper.toLowerCase()]: ticket("A"), [both]: ticket("new") });
  const looseIds = (
    await db()("ops_tickets_without_booking").whereIn("ticket_id", [loose, loose.toUpperCase(), both, both.toUpperCase()])
  ).map((r) => r.ticket_id);
  t.deepEqual(looseIds.sort(), [both, loose].sort());
});
