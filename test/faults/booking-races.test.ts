/**
 * Races at the HTTP door, on private servers: ten concurrent copies of one booking request with one
 * Idempotency-Key, the same key with another body, and a hot show stormed by 256 concurrent clients.
 */
import { randomUUID } from "node:crypto";
import test from "ava";
import { waitForConsistency } from "./support/checker.ts";
import { API_NODE_SERVICES, startFaultSystem, type FaultSystem } from "./support/fault-system.ts";
import { createShow } from "./support/traffic.ts";

let sys: FaultSystem;
test.before(async () => {
  sys = await startFaultSystem();
  await sys.startNode("api-1", API_NODE_SERVICES);
  await sys.startNode("api-2", ["tickets", "bookings", "datalake"]);
});
test.after.always(async () => {
  await sys?.stop();
});
test.afterEach.always((t) => {
  if (!t.passed && sys) t.log(sys.diagnostics().join("\n"));
});

async function book(body: unknown, headers: Record<string, string> = {}): Promise<{ status: number; body: any; replayed: boolean }> {
  const response = await fetch(`${sys.apiUrl}/api/book-tickets`, {
    method: "POST",
    headers: { "Content-Type": "application/json", ...headers },
    body: JSON.stringify(body),
  });
  const text = await response.text();
  return {
    status: response.status,
    body: text ? JSON.parse(text) : null,
    replayed: response.headers.get("idempotent-replayed") === "true",
  };
}

const consistent = async () =>
  waitForConsistency({ db: sys.db, nats: await sys.natsConnection(), redisUrl: sys.redis.url, topology: sys.topology, sim: sys.sim });

test.serial(
  "10 concurrent identical requests with one Idempotency-Key: one booking, one Dead Nation booking; another body: 422",
  async (t) => {
    const showId = await createShow(sys.apiUrl, 50);
    const key = randomUUID();
    const body = { show_id: showId, number_of_tickets: 2, customer_email: "same@example.com" };
    const answers = await Promise.all(Array.from({ length: 10 }, () => book(body, { "Idempotency-Key": key })));

    t.deepEqual(
      answers.map((a) => a.status),
      Array(10).fill(201),
    );
    const bookingIds = new Set(answers.map((a) => a.body.booking_id));
    t.is(bookingIds.size, 1, "every copy answers the same booking");
    t.is(answers.filter((a) => !a.replayed).length, 1, "one original answer, nine replays");
    const [bookingId] = [...bookingIds];

    const other = await book({ ...body, number_of_tickets: 3 }, { "Idempotency-Key": key });
    t.is(other.status, 422);
    t.truthy(other.body.error);

    const report = await consistent();
    t.deepEqual(report.problems, []);
    t.deepEqual(
      await sys
        .db("bookings")
        .where({ show_id: showId })
        .select("booking_id")
        .then((rows) => rows.map((r) => r.booking_id)),
      [bookingId],
    );
    t.is(sys.sim.state.deadNationBookings.filter((b) => b.booking_id === bookingId).length, 1);
    t.is((await sys.db("shows").where({ show_id: showId }).first()).booked, 2, "the 422 changed nothing");
  },
);

test.serial("hot show, 256 concurrent clients: never more seats booked than the show has, losers get 400, no 5xx", async (t) => {
  const capacity = 100;
  const showId = await createShow(sys.apiUrl, capacity);
  const wanted = Array.from({ length: 256 }, (_, i) => 1 + (i % 3));
  const answers = await Promise.all(
    wanted.map((n) =>
      book({ show_id: showId, number_of_tickets: n, customer_email: "race@example.com" }, { "Idempotency-Key": randomUUID() }),
    ),
  );

  const statuses: Record<number, number> = {};
  for (const { status } of answers) statuses[status] = (statuses[status] ?? 0) + 1;
  t.log({ statuses });
  t.deepEqual(
    Object.keys(statuses)
      .map(Number)
      .filter((s) => s >= 500),
    [],
    "no 5xx",
  );
  t.true(answers.every((a) => a.status === 201 || (a.status === 400 && typeof a.body.error === "string")));
  const sold = answers.reduce((sum, a, i) => sum + (a.status === 201 ? wanted[i]! : 0), 0);
  t.true(sold <= capacity);
  t.true(sold > capacity - 3, "the show sells out: a loser was refused only when its seats were really gone");
  const show = await sys.db("shows").where({ show_id: showId }).first();
  t.is(show.booked, sold);

  const report = await consistent();
  t.log(report.counts);
  t.deepEqual(report.problems, []);
});
