/**
 * Postgres crash-restarted and Redis down, each under live traffic. A Dead Nation booking whose
 * call went out just before the crash while its commit was lost is never sent again (Dead Nation
 * takes no idempotency key) but parked for an operator: the checker counts those, with their timing
 * checked against the crash, and flags every duplicate. Redis stays down for
 * FAULT_REDIS_DOWN_MS (default 30 s; CI may pass less) and comes back empty (no persistence), so
 * the mirror must re-mirror from JetStream without writing anything twice.
 */
import test from "ava";
import { eventually, settle } from "../support/system.ts";
import { waitForConsistency } from "./support/checker.ts";
import { API_NODE_SERVICES, startFaultSystem, type FaultSystem } from "./support/fault-system.ts";
import { createShow, Traffic } from "./support/traffic.ts";

const redisDownMs = Number(process.env.FAULT_REDIS_DOWN_MS ?? 30_000);

let sys: FaultSystem;
test.before(async () => {
  sys = await startFaultSystem();
  await sys.startNode("api-1", API_NODE_SERVICES);
  await sys.startNode("worker-1", ["tickets", "bookings", "datalake"]);
});
test.after.always(async () => {
  await sys?.stop();
});
test.afterEach.always((t) => {
  if (!t.passed && sys) t.log(sys.diagnostics().join("\n"));
});

/** When Postgres was crashed; later checks in this file see the same simulator state. */
let postgresCrash: { from: Date; to: Date } | undefined;

const check = async (traffic: Traffic) =>
  waitForConsistency({
    postgresCrash,
    db: sys.db,
    nats: await sys.natsConnection(),
    redisUrl: sys.redis.url,
    topology: sys.topology,
    sim: sys.sim,
    accepted: { tickets: traffic.acceptedTickets, bookings: traffic.acceptedBookings },
  });

test.serial(
  "Postgres crash-restarted (pg_ctl stop -m immediate, start) under load: nothing lost, no effect twice, a Dead Nation booking the crash left in doubt parked for an operator",
  async (t) => {
    const showId = await createShow(sys.apiUrl, 100_000);
    const traffic = new Traffic({ apiUrl: sys.apiUrl, ticketRequestsPerSecond: 8, bookingsPerSecond: 4, showId }).start();
    await settle(2_000);
    const from = new Date();
    await sys.postgres.restartImmediate();
    postgresCrash = { from, to: new Date() };
    await settle(3_000);
    await traffic.stop();

    const report = await check(traffic);
    t.log({ counts: report.counts, attempts: Object.fromEntries(traffic.attempts) });
    t.deepEqual(report.problems, []);
    t.is(traffic.failed, 0, "every client request got a final 2xx/4xx answer after retrying");
    t.false(traffic.attempts.has("500"), "requests that met the crash were answered 503 (retry later), never 500");
    t.false(traffic.attempts.has("401"), "a node in development mode answers 503 while it cannot read its users, never a 401");
    t.true(traffic.acceptedTickets.size > 0 && traffic.acceptedBookings.size > 0);
  },
);

test.serial(
  `Redis down for ${redisDownMs} ms under load: JetStream consumers keep going, the mirror catches up once Redis is back`,
  async (t) => {
    const showId = await createShow(sys.apiUrl, 100_000);
    const traffic = new Traffic({ apiUrl: sys.apiUrl, ticketRequestsPerSecond: 8, bookingsPerSecond: 4, showId }).start();
    await settle(1_000);
    await sys.redis.stop();
    const storedBefore = Number((await sys.db("tickets").count({ n: "*" }))[0]!.n);
    // Handlers keep storing tickets while Redis is down: the JetStream path does not wait on the mirror.
    await eventually(async () => Number((await sys.db("tickets").count({ n: "*" }))[0]!.n) >= storedBefore + 20, {
      timeoutMs: redisDownMs,
    });
    const storedDuringOutage = Number((await sys.db("tickets").count({ n: "*" }))[0]!.n) - storedBefore;
    await settle(Math.max(0, redisDownMs - 1_000));
    t.false(sys.redis.running, "Redis was down the whole time");
    await sys.redis.start();
    await settle(2_000);
    await traffic.stop();

    const report = await check(traffic);
    t.log({ storedDuringOutage, counts: report.counts, attempts: Object.fromEntries(traffic.attempts) });
    t.true(storedDuringOutage >= 20);
    t.deepEqual(report.problems, []);
    t.is(traffic.failed, 0, "every client request got a final 2xx/4xx answer");
  },
);
