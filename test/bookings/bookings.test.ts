import test from "ava";
import { randomUUID } from "node:crypto";
import { BookingMade_v1 } from "../../contracts/index.ts";
import { writeToOutbox } from "../../lib/messaging/outbox.ts";
import { deadLetters } from "../support/effects.ts";
import { eventually, quiet, settle, startTestSystem, type TestSystem } from "../support/system.ts";

let sys: TestSystem;
test.before(async () => {
  sys = await startTestSystem({ env: { SERVICES: "api,shows,bookings" } });
});
test.after.always(async () => {
  await sys?.stop();
});

const DEAD_NATION_PATH = "/dead-nation-api/ticket/booking";
const db = () => sys.node.runtime.db;

/** A show inserted in SQL, as the original's scenarios do. */
async function insertShow(capacity: number): Promise<{ show_id: string; dead_nation_id: string }> {
  const show = { show_id: randomUUID(), dead_nation_id: randomUUID() };
  await db()("shows").insert({ ...show, number_of_tickets: capacity, start_time: "2026-12-24 19:30:00", title: "Show", venue: "Venue" });
  return show;
}
const book = (show_id: string, number_of_tickets: number, headers: Record<string, string> = {}, customer_email = "booker@example.com") =>
  sys.http("POST", "/api/book-tickets", { show_id, number_of_tickets, customer_email }, headers);
const bookedSum = async (showId: string) =>
  Number((await db()("bookings").where({ show_id: showId }).sum({ n: "number_of_tickets" }))[0]!.n ?? 0);
const bookedColumn = async (showId: string) => (await db()("shows").where({ show_id: showId }).first("booked")).booked as number;
const bookingMadeFor = async (showId: string) =>
  (await db()("outbox").where({ name: "BookingMade_v1" }).whereLike("payload", `%"show_id":"${showId}"%`)).map((row) =>
    JSON.parse(row.payload),
  );
const deadNationBookingsOf = (bookingId: string) => sys.sim.state.deadNationBookings.filter((b) => b.booking_id === bookingId);

test("scenario 4: booking more than the capacity is 400 and books nothing", async (t) => {
  const show = await insertShow(5);
  const response = await book(show.show_id, 10);
  t.is(response.status, 400);
  t.deepEqual(response.body, { error: "not enough seats available" });
  t.is(await bookedSum(show.show_id), 0);
  t.is(await bookedColumn(show.show_id), 0);
  t.deepEqual(await bookingMadeFor(show.show_id), []);
});

test("scenario 5: bookings until the show is exhausted", async (t) => {
  const show = await insertShow(10);
  t.is((await book(show.show_id, 5)).status, 201);
  t.is(await bookedSum(show.show_id), 5);
  t.is((await book(show.show_id, 5)).status, 201);
  t.is(await bookedSum(show.show_id), 10);
  const third = await book(show.show_id, 1);
  t.is(third.status, 400);
  t.deepEqual(third.body, { error: "not enough seats available" });
  t.is(await bookedSum(show.show_id), 10);
  t.is(await bookedColumn(show.show_id), 10);
});

test("scenario 9: capacity 2, booking 2 succeeds and 2 more fail", async (t) => {
  const show = await insertShow(2);
  t.is((await book(show.show_id, 2)).status, 201);
  const more = await book(show.show_id, 2);
  t.is(more.status, 400);
  t.deepEqual(more.body, { error: "not enough seats available" });
  t.is(await bookedSum(show.show_id), 2);
});

test("scenario 10: 50 parallel bookings of 2 on capacity 2 give exactly one 201 and 49 × 400, no 5xx", async (t) => {
  const show = await insertShow(2);
  const responses = await Promise.all(Array.from({ length: 50 }, (_, i) => book(show.show_id, 2, {}, `racer${i}@example.com`)));
  const statuses = responses.map((r) => r.status);
  t.is(statuses.filter((s) => s === 201).length, 1);
  t.is(statuses.filter((s) => s === 400).length, 49);
  for (const loser of responses.filter((r) => r.status === 400)) t.deepEqual(loser.body, { error: "not enough seats available" });
  t.is(await bookedSum(show.show_id), 2);
  t.is(await bookedColumn(show.show_id), 2);
  const events = await bookingMadeFor(show.show_id);
  t.is(events.length, 1);
  t.is(events[0].booking_id, responses.find((r) => r.status === 201)!.body.booking_id);
});

test("200 concurrent bookings of 1-3 seats over 3 shows never oversell and every answer is 201 or 400", async (t) => {
  const capacities = [50, 100, 37];
  const shows = await Promise.all(capacities.map(insertShow));
  const requests = Array.from({ length: 200 }, (_, i) => ({ show: shows[i % 3]!, seats: ((i % 7) % 3) + 1 }));
  const responses = await Promise.all(requests.map((r) => book(r.show.show_id, r.seats)));
  t.deepEqual(
    [...new Set(responses.map((r) => r.status))].filter((s) => s !== 201 && s !== 400),
    [],
  );

  for (const [i, show] of shows.entries()) {
    const capacity = capacities[i]!;
    const booked = await bookedSum(show.show_id);
    const granted = requests.filter((r, j) => r.show === show && responses[j]!.status === 201).reduce((sum, r) => sum + r.seats, 0);
    t.true(booked <= capacity, `show ${i}: ${booked} > ${capacity}`);
    t.is(booked, granted);
    t.is(await bookedColumn(show.show_id), booked);
    t.is((await bookingMadeFor(show.show_id)).length, responses.filter((r, j) => requests[j]!.show === show && r.status === 201).length);
    // A refusal is honest: seats only ever decrease, so whatever was refused still does not fit.
    const remaining = capacity - booked;
    for (const [j, r] of requests.entries()) {
      if (r.show === show && responses[j]!.status === 400)
        t.true(remaining < r.seats, `show ${i} refused ${r.seats} with ${remaining} left`);
    }
  }
});

test("the booking row holds the posted values and BookingMade_v1 carries them", async (t) => {
  const show = await insertShow(10);
  const response = await book(show.show_id, 3, { "Correlation-ID": "corr-booking" }, "fan@example.com");
  t.is(response.status, 201);
  const bookingId = response.body.booking_id;
  t.deepEqual(Object.keys(response.body), ["booking_id"]);
  const row = await db()("bookings").where({ booking_id: bookingId }).first();
  t.like(row, { booking_id: bookingId, show_id: show.show_id, number_of_tickets: 3, customer_email: "fan@example.com" });
  const [event] = await bookingMadeFor(show.show_id);
  t.like(event, { number_of_tickets: 3, booking_id: bookingId, customer_email: "fan@example.com", show_id: show.show_id });
  t.deepEqual(Object.keys(event), ["header", "number_of_tickets", "booking_id", "customer_email", "show_id"]);
  const outboxRow = await db()("outbox").where({ name: "BookingMade_v1" }).whereLike("payload", `%${bookingId}%`).first();
  t.is(outboxRow.metadata.correlation_id, "corr-booking");
});

test("an unknown show is 404 and a bad body is 400 with details; neither books nor publishes", async (t) => {
  const show = await insertShow(10);
  const unknownShowId = randomUUID();
  const unknown = await book(unknownShowId, 1);
  t.is(unknown.status, 404);
  t.deepEqual(unknown.body, { error: "show not found" });

  const cases: [unknown, string][] = [
    [{ show_id: "nope", number_of_tickets: 1, customer_email: "a@b.c" }, "show_id"],
    [{ number_of_tickets: 1, customer_email: "a@b.c" }, "show_id"],
    [{ show_id: show.show_id, number_of_tickets: 0, customer_email: "a@b.c" }, "number_of_tickets"],
    [{ show_id: show.show_id, number_of_tickets: 1.5, customer_email: "a@b.c" }, "number_of_tickets"],
    [{ show_id: show.show_id, number_of_tickets: "2", customer_email: "a@b.c" }, "number_of_tickets"],
    [{ show_id: show.show_id, number_of_tickets: 1, customer_email: "not an email" }, "customer_email"],
    [{ show_id: show.show_id, number_of_tickets: 1 }, "customer_email"],
  ];
  for (const [body, field] of cases) {
    const response = await sys.http("POST", "/api/book-tickets", body);
    t.is(response.status, 400, JSON.stringify(body));
    t.true(
      response.body.details.some((d: { field: string }) => d.field === field),
      JSON.stringify(response.body),
    );
  }
  const zero = await sys.http("POST", "/api/book-tickets", { show_id: show.show_id, number_of_tickets: 0, customer_email: "a@b.c" });
  t.regex(zero.body.error, /number of tickets must be greater than 0/);
  const malformed = await sys.http("POST", "/api/book-tickets", "{");
  t.deepEqual([malformed.status, malformed.body], [400, { error: "malformed JSON body" }]);

  t.is(await bookedSum(show.show_id), 0);
  t.is(await bookedColumn(show.show_id), 0);
  t.deepEqual(await bookingMadeFor(show.show_id), []);
  t.deepEqual(await bookingMadeFor(unknownShowId), []);
});

test.serial("after a booking Dead Nation holds exactly one booking with the right fields", async (t) => {
  const show = await insertShow(10);
  const response = await book(show.show_id, 2, {}, "dn@example.com");
  const bookingId = response.body.booking_id;
  await eventually(() => deadNationBookingsOf(bookingId).length > 0);
  await eventually(() => quiet(sys));
  const [booking, ...more] = deadNationBookingsOf(bookingId);
  t.deepEqual(more, []);
  t.like(booking, { booking_id: bookingId, event_id: show.dead_nation_id, number_of_tickets: 2, customer_address: "dn@example.com" });
});

test.serial("redelivered BookingMade_v1 copies reach Dead Nation once", async (t) => {
  const show = await insertShow(10);
  const bookingId = (await book(show.show_id, 1)).body.booking_id;
  await eventually(() => deadNationBookingsOf(bookingId).length > 0);
  const [original] = await bookingMadeFor(show.show_id);
  // Two more copies of the same event under new transport ids: JetStream cannot dedupe them, the marker must.
  await db().transaction(async (trx) => {
    for (let copy = 0; copy < 2; copy++)
      await writeToOutbox(trx, sys.node.runtime.topology, { contract: BookingMade_v1, body: original, header: original.header });
  });
  await eventually(() => quiet(sys));
  await settle(300);
  t.is(deadNationBookingsOf(bookingId).length, 1);
});

test.serial("a Dead Nation refusal (503, 429) is retried and books once", async (t) => {
  const show = await insertShow(10);
  sys.sim.failNext({ path: DEAD_NATION_PATH }, 1, 503);
  sys.sim.failNext({ path: DEAD_NATION_PATH }, 1, 429);
  const bookingId = (await book(show.show_id, 1)).body.booking_id;
  await eventually(() => deadNationBookingsOf(bookingId).length > 0);
  await eventually(() => quiet(sys));
  t.is(deadNationBookingsOf(bookingId).length, 1);
  t.deepEqual(await deadLetters(sys, "bookings-BookPlaceInDeadNation"), []);
});

test.serial(
  "a Dead Nation call that times out is never sent again: the booking is parked in the dead letters, and an operator's replay books it",
  async (t) => {
    const show = await insertShow(10);
    sys.sim.setLatency(sys.config.GATEWAY_TIMEOUT_MS + 500);
    const bookingId = (await book(show.show_id, 1)).body.booking_id;
    const letter = await eventually(async () =>
      (await deadLetters(sys, "bookings-BookPlaceInDeadNation")).find((l) => l.payload.includes(bookingId)),
    );
    sys.sim.setLatency(0);
    await eventually(() => deadNationBookingsOf(bookingId).length > 0);
    await eventually(() => quiet(sys));
    t.regex(letter.error, /may already be at Dead Nation/);
    t.is(deadNationBookingsOf(bookingId).length, 1);
    t.false(await db()("processed_messages").where({ handler: "bookings-BookPlaceInDeadNation", key: bookingId }).first().then(Boolean));

    // the operator found no booking at Dead Nation and replays: that, and only that, sends it again
    const replay = await sys.node.broker.call("bookings.replayDeadLetter", { id: (letter as unknown as { id: number }).id });
    t.like(replay, { replayed: true });
    t.is(deadNationBookingsOf(bookingId).length, 2);
  },
);

for (const status of [500, 502, 504]) {
  test.serial(
    `a Dead Nation ${status} that follows the booking is in doubt: parked for an operator, one reservation at Dead Nation`,
    async (t) => {
      const show = await insertShow(10);
      sys.sim.failNext({ path: DEAD_NATION_PATH }, 1, status, { afterEffect: true });
      const bookingId = (await book(show.show_id, 1)).body.booking_id;
      const letter = await eventually(async () =>
        (await deadLetters(sys, "bookings-BookPlaceInDeadNation")).find((l) => l.payload.includes(bookingId)),
      );
      await eventually(() => quiet(sys));
      t.regex(letter.error, /may already be at Dead Nation/);
      t.is(deadNationBookingsOf(bookingId).length, 1);
    },
  );
}

test.serial("BookingMade_v1 for a show that does not exist is dead-lettered at once, without calling Dead Nation", async (t) => {
  const bookingId = randomUUID();
  const callsBefore = sys.sim.state.deadNationBookings.length;
  await db().transaction((trx) =>
    writeToOutbox(trx, sys.node.runtime.topology, {
      contract: BookingMade_v1,
      body: { number_of_tickets: 1, booking_id: bookingId, customer_email: "x@example.com", show_id: randomUUID() },
    }),
  );
  const [letter] = (await eventually(async () => {
    const letters = (await deadLetters(sys, "bookings-BookPlaceInDeadNation")).filter((l) => l.payload.includes(bookingId));
    return letters.length > 0 ? letters : undefined;
  }))!;
  t.is(letter!.deliveries, 1);
  t.regex(letter!.error, /does not exist/);
  t.is(sys.sim.state.deadNationBookings.length, callsBefore);
});

test.serial("the same Idempotency-Key books once and replays the booking_id; another body with it is 422", async (t) => {
  const show = await insertShow(10);
  const key = randomUUID();
  const responses = await Promise.all([1, 2, 3].map(() => book(show.show_id, 2, { "Idempotency-Key": key })));
  t.deepEqual(
    responses.map((r) => r.status),
    [201, 201, 201],
  );
  t.is(new Set(responses.map((r) => r.body.booking_id)).size, 1);
  t.is(responses.filter((r) => r.headers.get("idempotent-replayed") === "true").length, 2);
  t.is(await bookedSum(show.show_id), 2);
  t.is(await bookedColumn(show.show_id), 2);
  t.is((await bookingMadeFor(show.show_id)).length, 1);
  const other = await book(show.show_id, 3, { "Idempotency-Key": key });
  t.is(other.status, 422);
  t.is(await bookedSum(show.show_id), 2);
  await eventually(() => quiet(sys));
  t.is(deadNationBookingsOf(responses[0]!.body.booking_id).length, 1);
});

test.serial("a request repeated with the same X-Request-Id books once", async (t) => {
  const show = await insertShow(10);
  const headers = { "X-Request-Id": randomUUID() };
  const first = await book(show.show_id, 1, headers);
  const again = await book(show.show_id, 1, headers);
  t.is(first.status, 201);
  t.deepEqual(again.body, first.body);
  t.is(await bookedSum(show.show_id), 1);
});

test.serial("a Moleculer call that times out and is retried books once", async (t) => {
  const show = await insertShow(10);
  const { broker } = sys.node;
  const body = { show_id: show.show_id, number_of_tickets: 2, customer_email: "retry@example.com" };
  const meta = { requestId: randomUUID() };
  // 1 ms is shorter than any booking: every attempt times out on the caller and is retried while the handlers run on.
  const timedOut = await broker
    .call("bookings.book", body, { meta, nodeID: broker.nodeID, timeout: 1, retries: 3 })
    .catch((error: { type?: string }) => error);
  t.is((timedOut as { type?: string }).type, "REQUEST_TIMEOUT");
  const retries = broker.metrics.getMetric("moleculer.request.retry.attempts.total")!.get({ service: "bookings", action: "bookings.book" });
  t.true((retries?.value ?? 0) > 0, "the call was retried");
  const answer = (await broker.call("bookings.book", body, { meta, nodeID: broker.nodeID })) as { booking_id: string };
  await eventually(() => quiet(sys));
  const rows = await db()("bookings").where({ show_id: show.show_id });
  t.is(rows.length, 1);
  t.is(rows[0].booking_id, answer.booking_id);
  t.is(await bookedColumn(show.show_id), 2);
  t.is(deadNationBookingsOf(answer.booking_id).length, 1);
});
