/**
 * Node processes SIGKILLed at the two dangerous moments: a relay between its JetStream publish and
 * marking the outbox rows, and a handler between its gateway call (the effect applied) and its ack.
 */
import test from "ava";
import { settle } from "../support/system.ts";
import { waitForConsistency } from "./support/checker.ts";
import { startFaultSystem, type FaultSystem } from "./support/fault-system.ts";
import { crashRelayAfterPublish } from "./support/relay-crash.ts";
import { Traffic } from "./support/traffic.ts";

let sys: FaultSystem;
test.before(async () => {
  sys = await startFaultSystem();
});
test.after.always(async () => {
  await sys?.stop();
});
test.afterEach.always((t) => {
  if (!t.passed && sys) t.log(sys.diagnostics().join("\n"));
});

const check = async (traffic?: Traffic) =>
  waitForConsistency({
    db: sys.db,
    nats: await sys.natsConnection(),
    redisUrl: sys.redis.url,
    topology: sys.topology,
    sim: sys.sim,
    accepted: traffic ? { tickets: traffic.acceptedTickets, bookings: traffic.acceptedBookings } : undefined,
  });

test.serial(
  "a node SIGKILLed between JetStream publish and marking its outbox rows: every row relayed once, every effect once",
  async (t) => {
    const crash = await crashRelayAfterPublish(sys, 400);
    t.log(crash);
    t.true(crash.inJetStream > crash.marked, "the kill landed after publishing and before marking");

    await sys.startNode("api-1", ["api", "tickets", "shows", "bookings", "datalake"]);
    const report = await check();
    t.log(report.counts);
    t.deepEqual(report.problems, []);
    t.is(report.counts.confirmedTickets, crash.written);
    t.is(report.counts.receipts, crash.written);
  },
);

test.serial("a worker SIGKILLed between its gateway calls and their acks: redelivered, every effect still once", async (t) => {
  const traffic = new Traffic({ apiUrl: sys.apiUrl, ticketRequestsPerSecond: 10 }).start();
  const victim = await sys.startNode("fulfilment-victim", ["tickets"]);
  await settle(1_500);
  // From now on the simulator applies each effect and the answer never reaches the handler.
  sys.proxy.holdResponses();
  const deadline = Date.now() + 5_000;
  while (sys.proxy.held < 5 && Date.now() < deadline) await new Promise((resolve) => setTimeout(resolve, 5));
  const heldAtKill = sys.proxy.held;
  await victim.process.kill();
  sys.nodes.delete(victim.name);
  sys.proxy.releaseHeld();
  t.true(heldAtKill >= 5, `gateway effects applied but unacknowledged at the kill: ${heldAtKill}`);

  await sys.startNode("fulfilment-2", ["tickets"]);
  await settle(2_000);
  await traffic.stop();
  const report = await check(traffic);
  t.log({ heldAtKill, counts: report.counts, attempts: Object.fromEntries(traffic.attempts) });
  t.deepEqual(report.problems, []);
  t.is(traffic.failed, 0);
});
