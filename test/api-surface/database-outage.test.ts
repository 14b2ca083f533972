import test from "ava";
import { randomUUID } from "node:crypto";
import { eventually, quiet, startTestSystem, type TestSystem } from "../support/system.ts";
import { proxiedPostgres, type TcpProxy } from "../support/tcp-proxy.ts";

/**
 * The bookings node reaches Postgres through a proxy the test can cut; the api node keeps the
 * database. A request that meets the outage gets 503 with Retry-After (the server's trouble, not
 * the client's), and the same request retried afterwards takes effect exactly once.
 */
let sys: TestSystem;
let proxy: TcpProxy;
test.before(async () => {
  sys = await startTestSystem({ env: { SERVICES: "api" } });
  const proxied = await proxiedPostgres(sys.config.POSTGRES_URL);
  proxy = proxied.proxy;
  await sys.startNode({ SERVICES: "shows,bookings", POSTGRES_URL: proxied.url });
  await sys.node.broker.waitForServices(["shows", "bookings"], 10_000);
});
test.after.always(async () => {
  await sys?.stop();
  await proxy?.close();
});

test.serial("a booking that meets a Postgres outage answers 503 with Retry-After; retried after it, it books once", async (t) => {
  const show = await sys.http("POST", "/api/shows", {
    dead_nation_id: randomUUID(),
    number_of_tickets: 10,
    start_time: "2027-05-01T19:00:00Z",
    title: "Outage",
    venue: "Proxy Hall",
  });
  t.is(show.status, 201);
  const booking = { show_id: show.body.show_id, number_of_tickets: 2, customer_email: "outage@example.com" };
  const key = { "Idempotency-Key": randomUUID() };

  await proxy.cut();
  const during = await sys.http("POST", "/api/book-tickets", booking, key);
  t.is(during.status, 503);
  t.deepEqual(during.body, { error: "Service unavailable" });
  t.is(during.headers.get("retry-after"), "1");

  await proxy.restore();
  const after = await eventually(async () => {
    const answer = await sys.http("POST", "/api/book-tickets", booking, key);
    return answer.status === 503 ? undefined : answer;
  });
  t.is(after.status, 201);
  await eventually(() => quiet(sys));
  const stored = await sys.node.runtime.db("bookings").where({ show_id: booking.show_id });
  t.is(stored.length, 1);
  t.is(sys.sim.state.deadNationBookings.filter((b) => b.booking_id === after.body.booking_id).length, 1);
});

test.serial(
  "a booking whose connection dies mid-transaction (knex then reports its ROLLBACK's error) answers 503; retried, it books once",
  async (t) => {
    const show = await sys.http("POST", "/api/shows", {
      dead_nation_id: randomUUID(),
      number_of_tickets: 10,
      start_time: "2027-05-02T19:00:00Z",
      title: "Mid-statement",
      venue: "Proxy Hall",
    });
    t.is(show.status, 201);
    const booking = { show_id: show.body.show_id, number_of_tickets: 1, customer_email: "midway@example.com" };
    const key = { "Idempotency-Key": randomUUID() };
    const db = sys.node.runtime.db;

    // The test holds the show's row lock, so the booking's seat UPDATE waits inside its transaction;
    // the cut then kills that connection in the middle of the statement.
    const lockHeld = db.transaction(async (trx) => {
      await trx("shows").where({ show_id: booking.show_id }).forNoKeyUpdate();
      const answer = sys.http("POST", "/api/book-tickets", booking, key);
      await eventually(async () => {
        const waiting = await db.raw(`SELECT 1 FROM pg_stat_activity WHERE wait_event_type = 'Lock' AND query ILIKE 'update "shows"%'`);
        return waiting.rows.length > 0 || undefined;
      });
      await proxy.cut();
      return answer;
    });
    const during = await lockHeld;
    t.is(during.status, 503);
    t.deepEqual(during.body, { error: "Service unavailable" });
    t.is(during.headers.get("retry-after"), "1");
    t.is((await db("bookings").where({ show_id: booking.show_id })).length, 0, "nothing of the failed attempt was committed");

    await proxy.restore();
    const after = await eventually(async () => {
      const answer = await sys.http("POST", "/api/book-tickets", booking, key);
      return answer.status === 503 ? undefined : answer;
    });
    t.is(after.status, 201);
    await eventually(() => quiet(sys));
    t.is((await db("bookings").where({ show_id: booking.show_id })).length, 1);
    t.is(sys.sim.state.deadNationBookings.filter((b) => b.booking_id === after.body.booking_id).length, 1);
  },
);
