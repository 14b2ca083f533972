import test from "ava";
import { randomUUID } from "node:crypto";
import { z } from "zod";
import {
  BookingMade_v1,
  newHeader,
  TicketBookingCanceled_v1,
  TicketBookingConfirmed_v1,
  TicketPrinted_v1,
  TicketReceiptIssued_v1,
  TicketRefunded_v1,
  type BodyOf,
  type MessageContract,
  type MessageHeader,
} from "../../contracts/index.ts";
import { OpsBookingView } from "../../contracts/http.ts";
import { ZERO_TIME } from "../../services/ops.read-model.ts";
import { writeToOutbox } from "../../lib/messaging/outbox.ts";
import { deadLetters } from "../support/effects.ts";
import { eventually, quiet, startTestSystem, type TestSystem } from "../support/system.ts";
import { maxDeliveriesOf } from "../../lib/messaging/consumer.ts";
import { migrationSource } from "../../migrations/index.ts";

let sys: TestSystem;
test.before(async () => {
  // A ticket event that comes before its booking is retried for the whole budget: the test
  // system's 350 ms is shorter than a booking's way through the outbox on a loaded machine.
  sys = await startTestSystem({ env: { SERVICES: "api,ops,datalake", CONSUMER_RETRY_BUDGET_MS: "4000" } });
});
test.after.always(async () => {
  await sys?.stop();
});

const durable = (handler: string) => `ops-ops_read_model_${handler}`;
const at = (iso: string) => ({ ...newHeader(), published_at: iso });

/** Publishes through the outbox, as the services do; `header` reuses one (a redelivered copy). */
async function publish<C extends MessageContract>(contract: C, body: BodyOf<C>, header: MessageHeader = newHeader()) {
  await sys.node.runtime.db.transaction((trx) => writeToOutbox(trx, sys.node.runtime.topology, { contract, body, header }));
  return header;
}
const price = { amount: "50.30", currency: "GBP" };
const bookingMade = (booking_id: string, header?: MessageHeader) =>
  publish(BookingMade_v1, { number_of_tickets: 1, booking_id, customer_email: "ops@example.com", show_id: randomUUID() }, header);
const confirmed = (booking_id: string, ticket_id: string, header?: MessageHeader) =>
  publish(TicketBookingConfirmed_v1, { booking_id, ticket_id, customer_email: "ops@example.com", price }, header);
const opsBooking = async (id: string) => {
  const response = await sys.http("GET", `/api/ops/bookings/${id}`);
  return response.status === 200 ? (response.body as OpsBookingView) : undefined;
};
const ticketOf = async (bookingId: string, ticketId: string) => (await opsBooking(bookingId))?.tickets[ticketId];

test.serial("GET /api/ops/bookings is [] before any booking", async (t) => {
  const response = await sys.http("GET", "/api/ops/bookings");
  t.is(response.status, 200);
  t.is(response.text, "[]");
});

test.serial("a booking appears with no tickets, then each event sets only its own fields; unset times are Go's zero time", async (t) => {
  const bookingId = randomUUID();
  const ticketId = randomUUID();
  const made = await bookingMade(bookingId);
  const empty = (await eventually(() => opsBooking(bookingId)))!;
  t.true(OpsBookingView.strict().safeParse(empty).success);
  t.is(empty.booked_at, made.published_at);
  t.deepEqual(empty.tickets, {});

  const confirmation = await confirmed(bookingId, ticketId);
  const ticket = await eventually(() => ticketOf(bookingId, ticketId));
  t.deepEqual(ticket, {
    price_amount: "50.30",
    price_currency: "GBP",
    customer_email: "ops@example.com",
    confirmed_at: confirmation.published_at,
    refunded_at: ZERO_TIME,
    printed_at: ZERO_TIME,
    printed_file_name: "",
    receipt_issued_at: ZERO_TIME,
    receipt_number: "",
    canceled_at: ZERO_TIME,
  });

  const printed = await publish(TicketPrinted_v1, { ticket_id: ticketId, file_name: `${ticketId}-ticket.html` });
  await publish(TicketReceiptIssued_v1, { ticket_id: ticketId, receipt_number: "R-1", issued_at: "2026-11-20T10:00:00Z" });
  const refunded = await publish(TicketRefunded_v1, { ticket_id: ticketId });
  const canceled = await publish(TicketBookingCanceled_v1, { ticket_id: ticketId, customer_email: "ops@example.com", price });
  const full = (await eventually(async () => {
    const current = await ticketOf(bookingId, ticketId);
    return current &&
      current.printed_at !== ZERO_TIME &&
      current.receipt_issued_at !== ZERO_TIME &&
      current.refunded_at !== ZERO_TIME &&
      current.canceled_at !== ZERO_TIME
      ? current
      : undefined;
  }))!;
  t.like(full, {
    confirmed_at: confirmation.published_at,
    printed_at: printed.published_at,
    printed_file_name: `${ticketId}-ticket.html`,
    receipt_issued_at: "2026-11-20T10:00:00Z",
    receipt_number: "R-1",
    refunded_at: refunded.published_at,
    canceled_at: canceled.published_at,
  });
  const document = await opsBooking(bookingId);
  for (const time of [
    document!.booked_at,
    document!.last_update,
    ...[full.confirmed_at, full.printed_at, full.receipt_issued_at, full.refunded_at, full.canceled_at],
  ])
    t.regex(time, /Z$/);
});

test.serial("a ticket event before its booking is retried until the booking arrives, and nothing is dead-lettered", async (t) => {
  const bookingId = randomUUID();
  const ticketId = randomUUID();
  const printed = await publish(TicketPrinted_v1, { ticket_id: ticketId, file_name: "early.html" });
  const { jsm } = sys.node.runtime.backbone;
  await eventually(
    async () => (await jsm.consumers.info(sys.node.runtime.topology.streams.event, durable("OnTicketPrinted"))).num_redelivered > 0,
  );
  await bookingMade(bookingId);
  await confirmed(bookingId, ticketId);
  const ticket = await eventually(async () => {
    const current = await ticketOf(bookingId, ticketId);
    return current?.printed_at !== ZERO_TIME ? current : undefined;
  });
  t.is(ticket!.printed_at, printed.published_at);
  t.is(ticket!.printed_file_name, "early.html");
  t.deepEqual(
    (await deadLetters(sys, durable("OnTicketPrinted"))).filter((l) => l.payload.includes(ticketId)),
    [],
  );
});

test.serial("a confirmation whose booking never comes is dead-lettered after the delivery budget", async (t) => {
  const orphan = randomUUID();
  await confirmed(randomUUID(), orphan);
  const letter = await eventually(async () =>
    (await deadLetters(sys, durable("OnTicketBookingConfirmed"))).find((l) => l.payload.includes(orphan)),
  );
  t.is(letter.deliveries, maxDeliveriesOf(sys.config));
  t.regex(letter.error, /does not exist yet/);
});

test.serial("a ticket confirmed without a booking is no part of the report: its events are acknowledged, none dead-lettered", async (t) => {
  const ticketId = randomUUID();
  // its print comes first, as it may: retried until the confirmation says there is no booking
  await publish(TicketPrinted_v1, { ticket_id: ticketId, file_name: `${ticketId}-ticket.html` });
  await publish(TicketBookingConfirmed_v1, { booking_id: "", ticket_id: ticketId, customer_email: "ops@example.com", price });
  await publish(TicketReceiptIssued_v1, { ticket_id: ticketId, receipt_number: "R-unbooked", issued_at: "2026-11-20T10:00:00Z" });
  await publish(TicketRefunded_v1, { ticket_id: ticketId });
  await publish(TicketBookingCanceled_v1, { ticket_id: ticketId, customer_email: "ops@example.com", price });
  await eventually(() => quiet(sys));

  const letters = [];
  for (const handler of [
    "OnTicketBookingConfirmed",
    "OnTicketPrinted",
    "OnTicketReceiptIssued",
    "OnTicketRefunded",
    "OnTicketBookingCanceled",
  ]) {
    letters.push(...(await deadLetters(sys, durable(handler))).filter((l) => l.payload.includes(ticketId)));
  }
  t.deepEqual(letters, []);
  const listed = (await sys.http("GET", "/api/ops/bookings")).body as OpsBookingView[];
  t.false(listed.some((booking) => ticketId in booking.tickets));
});

test.serial("redelivered copies change nothing, and the earliest time wins whatever the arrival order", async (t) => {
  const bookingId = randomUUID();
  const ticketId = randomUUID();
  await bookingMade(bookingId);
  const later = await confirmed(bookingId, ticketId, at("2026-11-26T12:00:05Z"));
  await eventually(() => ticketOf(bookingId, ticketId));
  const earlier = await publish(
    TicketBookingConfirmed_v1,
    { booking_id: bookingId, ticket_id: ticketId, customer_email: "first@example.com", price: { amount: "10.00", currency: "EUR" } },
    at("2026-11-26T12:00:01Z"),
  );
  await publish(TicketPrinted_v1, { ticket_id: ticketId, file_name: "second.html" }, at("2026-11-26T12:00:09Z"));
  await publish(TicketPrinted_v1, { ticket_id: ticketId, file_name: "first.html" }, at("2026-11-26T12:00:07Z"));
  await eventually(() => quiet(sys));
  const settled = await opsBooking(bookingId);
  t.like(settled!.tickets[ticketId], {
    confirmed_at: earlier.published_at,
    customer_email: "first@example.com",
    price_amount: "10.00",
    price_currency: "EUR",
    printed_at: "2026-11-26T12:00:07Z",
    printed_file_name: "first.html",
  });

  await confirmed(bookingId, ticketId, later);
  await publish(
    TicketBookingConfirmed_v1,
    { booking_id: bookingId, ticket_id: ticketId, customer_email: "first@example.com", price: { amount: "10.00", currency: "EUR" } },
    earlier,
  );
  await eventually(() => quiet(sys));
  t.deepEqual(await opsBooking(bookingId), settled);
});

test.serial("concurrent updates of one booking lose no field", async (t) => {
  const bookingId = randomUUID();
  const tickets = Array.from({ length: 8 }, () => randomUUID());
  await bookingMade(bookingId);
  await Promise.all(tickets.map((ticketId) => confirmed(bookingId, ticketId)));
  await eventually(async () => Object.keys((await opsBooking(bookingId))?.tickets ?? {}).length === tickets.length);
  await Promise.all(
    tickets.flatMap((ticketId, i) => [
      publish(TicketPrinted_v1, { ticket_id: ticketId, file_name: `${ticketId}.html` }),
      publish(TicketReceiptIssued_v1, { ticket_id: ticketId, receipt_number: `R-${i}`, issued_at: "2026-11-26T08:00:00Z" }),
      publish(TicketRefunded_v1, { ticket_id: ticketId }),
    ]),
  );
  await eventually(() => quiet(sys));
  const document = await opsBooking(bookingId);
  for (const [i, ticketId] of tickets.entries()) {
    const ticket = document!.tickets[ticketId]!;
    t.is(ticket.printed_file_name, `${ticketId}.html`);
    t.is(ticket.receipt_number, `R-${i}`);
    t.not(ticket.refunded_at, ZERO_TIME);
    t.not(ticket.printed_at, ZERO_TIME);
    t.not(ticket.confirmed_at, ZERO_TIME);
  }
});

test.serial(
  "GET /api/ops/bookings lists newest first, filters by receipt date, and refuses a malformed date; by id: 400 and 404",
  async (t) => {
    const older = randomUUID();
    const newer = randomUUID();
    const ticketId = randomUUID();
    await bookingMade(older, at("2030-01-01T10:00:00Z"));
    await bookingMade(newer, at("2030-01-02T10:00:00.5Z"));
    await confirmed(older, ticketId);
    await eventually(() => ticketOf(older, ticketId));
    await publish(TicketReceiptIssued_v1, { ticket_id: ticketId, receipt_number: "R-9", issued_at: "2031-05-06T23:59:59Z" });
    await eventually(async () => (await ticketOf(older, ticketId))?.receipt_number === "R-9");

    const all = await sys.http("GET", "/api/ops/bookings");
    t.is(all.status, 200);
    t.true(z.array(OpsBookingView.strict()).safeParse(all.body).success);
    const ids = all.body.map((b: OpsBookingView) => b.booking_id);
    t.deepEqual(ids.slice(0, 2), [newer, older]);
    const bookedAt = all.body.map((b: OpsBookingView) => Date.parse(b.booked_at));
    t.deepEqual(
      bookedAt,
      [...bookedAt].sort((a: number, b: number) => b - a),
    );

    const onDate = await sys.http("GET", "/api/ops/bookings?receipt_issue_date=2031-05-06");
    t.deepEqual(
      onDate.body.map((b: OpsBookingView) => b.booking_id),
      [older],
    );
    t.deepEqual((await sys.http("GET", "/api/ops/bookings?receipt_issue_date=2031-05-07")).body, []);
    t.deepEqual((await sys.http("GET", "/api/ops/bookings?receipt_issue_date=0001-01-01")).body, []);
    for (const bad of ["2031-5-6", "yesterday", "2031-02-30", ""]) {
      const response = await sys.http("GET", `/api/ops/bookings?receipt_issue_date=${bad}`);
      t.is(response.status, 400, bad);
      t.is(response.body.details[0].field, "receipt_issue_date");
    }

    t.deepEqual(await sys.http("GET", "/api/ops/bookings/not-a-uuid").then((r) => [r.status, r.body]), [
      400,
      { error: "invalid booking ID format" },
    ]);
    t.deepEqual(await sys.http("GET", `/api/ops/bookings/${randomUUID()}`).then((r) => [r.status, r.body]), [
      404,
      { error: "booking not found" },
    ]);
  },
);

test.serial(
  "a receipt replaced by an earlier one moves its booking from the later day to the earlier one in the receipt date filter",
  async (t) => {
    const bookingId = randomUUID();
    const [first, second] = [randomUUID(), randomUUID()];
    await bookingMade(bookingId);
    await confirmed(bookingId, first);
    await confirmed(bookingId, second);
    await eventually(async () => Object.keys((await opsBooking(bookingId))?.tickets ?? {}).length === 2);
    await publish(TicketReceiptIssued_v1, { ticket_id: first, receipt_number: "R-1", issued_at: "2032-01-05T10:00:00Z" });
    await publish(TicketReceiptIssued_v1, { ticket_id: second, receipt_number: "R-2", issued_at: "2032-01-07T10:00:00Z" });
    await eventually(async () => (await ticketOf(bookingId, second))?.receipt_number === "R-2");
    await publish(TicketReceiptIssued_v1, { ticket_id: second, receipt_number: "R-2a", issued_at: "2032-01-03T10:00:00Z" });
    await eventually(async () => (await ticketOf(bookingId, second))?.receipt_number === "R-2a");

    const bookingsOn = async (day: string) =>
      (await sys.http("GET", `/api/ops/bookings?receipt_issue_date=${day}`)).body.map((b: OpsBookingView) => b.booking_id);
    t.deepEqual(await bookingsOn("2032-01-03"), [bookingId]);
    t.deepEqual(await bookingsOn("2032-01-05"), [bookingId]);
    t.deepEqual(await bookingsOn("2032-01-07"), []);
  },
);

test.serial(
  "documents stored before migration 039 keep getting their tickets' events: the migration maps their tickets to them",
  async (t) => {
    await eventually(() => quiet(sys));
    const db = sys.node.runtime.db;
    const bookingId = randomUUID();
    const ticketId = randomUUID();
    const payload = {
      booking_id: bookingId,
      booked_at: "2026-01-01T00:00:00Z",
      tickets: { [ticketId]: { customer_email: "m@example.com" } },
    };
    await db("read_model_ops_bookings").insert({ booking_id: bookingId, booked_at: payload.booked_at, payload: JSON.stringify(payload) });
    const name = "20261207_039_ops_ticket_bookings";
    await db.migrate.down({ name, migrationSource, disableMigrationsListValidation: true } as never);
    await db.migrate.up({ name, migrationSource, disableMigrationsListValidation: true } as never);

    await publish(TicketPrinted_v1, { ticket_id: ticketId, file_name: "kept.html" });
    await eventually(async () => (await ticketOf(bookingId, ticketId))?.printed_file_name === "kept.html");
    t.is((await ticketOf(bookingId, ticketId))?.customer_email, "m@example.com");
    t.deepEqual(await deadLetters(sys, durable("OnTicketPrinted")), []);
  },
);
