import test from "ava";
import { randomUUID } from "node:crypto";
import type { BookTicketsRequest } from "../../contracts/http.ts";
import { writeAllToOutbox } from "../../lib/messaging/outbox.ts";
import { bookingRequestOf, decideBookings } from "../../services/bookings.group-commit.ts";
import { eventually, quiet, settle, startTestSystem, type HttpResult, type TestSystem } from "../support/system.ts";

// Concurrent bookings on one node are decided in one transaction per batch (docs/bookings.md):
// every request still gets its own answer, and the guarantees are those of one transaction each.

let sys: TestSystem;
test.before(async () => {
  sys = await startTestSystem({ env: { SERVICES: "api,shows,bookings" } });
});
test.after.always(async () => {
  await sys?.stop();
});

const db = () => sys.node.runtime.db;

async function insertShow(capacity: number): Promise<{ show_id: string; dead_nation_id: string }> {
  const show = { show_id: randomUUID(), dead_nation_id: randomUUID() };
  await db()("shows").insert({ ...show, number_of_tickets: capacity, start_time: "2027-02-14 20:00:00", title: "On-sale", venue: "Hall" });
  return show;
}
const body = (show_id: string, number_of_tickets = 1, customer_email = "fan@example.com"): BookTicketsRequest => ({
  show_id,
  number_of_tickets,
  customer_email,
});
const book = (request: BookTicketsRequest, headers: Record<string, string> = {}) => sys.http("POST", "/api/book-tickets", request, headers);
const bookedColumn = async (showId: string) => (await db()("shows").where({ show_id: showId }).first("booked")).booked as number;
const bookingRows = (showId: string) => db()("bookings").where({ show_id: showId }).select("booking_id", "number_of_tickets");
const bookingMadeIds = async (showId: string) =>
  (await db()("outbox").where({ name: "BookingMade_v1" }).whereLike("payload", `%"show_id":"${showId}"%`)).map(
    (row) => JSON.parse(row.payload).booking_id as string,
  );
const deadNationOf = (show: { dead_nation_id: string }) =>
  sys.sim.state.deadNationBookings.filter((b) => b.event_id === show.dead_nation_id);
const sorted = (ids: string[]) => [...ids].sort();

test("a race on two shows with fewer seats than asked sells exactly their capacity; each request is answered on its own", async (t) => {
  const hot = await insertShow(30);
  const small = await insertShow(7);
  const unknownShowId = randomUUID();
  const requests = Array.from({ length: 150 }, (_, i) =>
    i % 50 === 49
      ? body(unknownShowId)
      : i % 4 === 3
        ? body(small.show_id, 1, `small${i}@example.com`)
        : body(hot.show_id, 1, `hot${i}@example.com`),
  );
  const responses = await Promise.all(requests.map((request) => book(request)));

  const statuses = responses.map((r) => r.status);
  t.deepEqual(
    statuses.filter((s) => s !== 201 && s !== 400 && s !== 404),
    [],
  );
  for (const [i, response] of responses.entries()) {
    if (requests[i]!.show_id === unknownShowId) t.deepEqual([response.status, response.body], [404, { error: "show not found" }]);
    else if (response.status === 400) t.deepEqual(response.body, { error: "not enough seats available" });
    else {
      t.is(response.status, 201);
      t.is(response.headers.get("location"), `/api/ops/bookings/${response.body.booking_id}`);
      t.is(response.headers.get("idempotent-replayed"), null);
    }
  }
  for (const [show, capacity] of [
    [hot, 30],
    [small, 7],
  ] as const) {
    const won = responses
      .filter((r, i) => requests[i]!.show_id === show.show_id && r.status === 201)
      .map((r) => r.body.booking_id as string);
    const lost = responses.filter((r, i) => requests[i]!.show_id === show.show_id && r.status === 400);
    const asked = requests.filter((r) => r.show_id === show.show_id).length;
    t.is(won.length, capacity);
    t.is(lost.length, asked - capacity);
    t.is(new Set(won).size, capacity);
    t.is(await bookedColumn(show.show_id), capacity);
    t.deepEqual(sorted((await bookingRows(show.show_id)).map((row) => row.booking_id)), sorted(won));
    t.deepEqual(sorted(await bookingMadeIds(show.show_id)), sorted(won));
    await eventually(() => deadNationOf(show).length >= capacity);
    await eventually(() => quiet(sys));
    await settle(300);
    t.deepEqual(sorted(deadNationOf(show).map((b) => b.booking_id)), sorted(won));
  }
});

test("one Idempotency-Key sent concurrently, again later, and with another body: one booking, every copy the same answer", async (t) => {
  const show = await insertShow(10);
  const other = await insertShow(10);
  const key = randomUUID();
  const request = body(show.show_id, 2);
  // the copies race with other keys' bookings of both shows, so they share batches with them
  const [copies, bystanders] = await Promise.all([
    Promise.all(Array.from({ length: 6 }, () => book(request, { "Idempotency-Key": key }))),
    Promise.all(
      Array.from({ length: 12 }, (_, i) => book(body(i % 2 ? show.show_id : other.show_id), { "Idempotency-Key": randomUUID() })),
    ),
  ]);
  const later = await book(request, { "Idempotency-Key": key });
  const otherBody = await book(body(show.show_id, 3), { "Idempotency-Key": key });

  const bookingId = copies[0]!.body.booking_id as string;
  const answers: HttpResult[] = [...copies, later];
  for (const answer of answers) {
    t.is(answer.status, 201);
    t.deepEqual(answer.body, { booking_id: bookingId });
    t.is(answer.headers.get("location"), `/api/ops/bookings/${bookingId}`);
  }
  t.is(answers.filter((a) => a.headers.get("idempotent-replayed") === "true").length, answers.length - 1);
  t.is(later.headers.get("idempotent-replayed"), "true");
  t.is(otherBody.status, 422);
  t.deepEqual(otherBody.body, { error: "Idempotency-Key was already used with a different request body" });

  t.deepEqual(
    bystanders.map((b) => b.status),
    Array(12).fill(201),
  );
  t.is((await db()("bookings").where({ booking_id: bookingId })).length, 1);
  t.is(await bookedColumn(show.show_id), 2 + 6);
  t.is(await bookedColumn(other.show_id), 6);
  t.is((await bookingRows(show.show_id)).length, 1 + 6);
  t.is((await bookingMadeIds(show.show_id)).filter((id) => id === bookingId).length, 1);
  await eventually(() => deadNationOf(show).length >= 7);
  await eventually(() => quiet(sys));
  await settle(300);
  t.is(deadNationOf(show).filter((b) => b.booking_id === bookingId).length, 1);
  t.is(deadNationOf(show).length, 7);
});

test("one batch over mixed shows: seats in arrival order, 404 for an unknown show, a repeated key replays and another body with it is 422", async (t) => {
  const a = await insertShow(3);
  const b = await insertShow(1);
  const [k1, k2] = [randomUUID(), randomUUID()];
  const batch = [
    { request: body(a.show_id, 2), meta: { idempotencyKey: k1 } },
    { request: body(b.show_id, 1), meta: {} },
    { request: body(a.show_id, 2), meta: { idempotencyKey: k2 } },
    { request: body(b.show_id, 1), meta: {} },
    { request: body(randomUUID(), 1), meta: {} },
    { request: body(a.show_id, 2), meta: { idempotencyKey: k1 } },
    { request: body(a.show_id, 1), meta: { idempotencyKey: k1 } },
    { request: body(a.show_id, 1), meta: {} },
  ].map(({ request, meta }) => bookingRequestOf(request, meta));
  const outcomes = await db().transaction((trx) =>
    decideBookings(trx, batch, (tx, entries) => writeAllToOutbox(tx, sys.node.runtime.topology, entries)),
  );

  const summary = outcomes.map((o) => ("value" in o ? [o.value.status, o.value.replayed] : [(o.error as { code: number }).code]));
  t.deepEqual(summary, [[201, false], [201, false], [400], [400], [404], [201, true], [422], [201, false]]);
  const first = (outcomes[0] as { value: { body: { booking_id: string } } }).value.body.booking_id;
  t.deepEqual((outcomes[5] as { value: { body: unknown } }).value.body, { booking_id: first });
  t.is(await bookedColumn(a.show_id), 3);
  t.is(await bookedColumn(b.show_id), 1);
  t.deepEqual((await bookingRows(a.show_id)).map((row) => row.number_of_tickets).sort(), [1, 2]);
  t.is((await bookingMadeIds(a.show_id)).length, 2);
  t.is((await bookingMadeIds(b.show_id)).length, 1);
  // the refused key is not kept: like a rolled-back single request, it may book later
  t.is((await db()("idempotency_keys").where({ key: k2 })).length, 0);
  t.like(await db()("idempotency_keys").where({ key: k1 }).first(), { status: 201, response: { booking_id: first } });
  const replay = await book(body(a.show_id, 2), { "Idempotency-Key": k1 });
  t.deepEqual([replay.status, replay.body, replay.headers.get("idempotent-replayed")], [201, { booking_id: first }, "true"]);
});
