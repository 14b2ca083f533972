import test from "ava";
import { settle } from "../support/system.ts";
import { waitForConsistency } from "./support/checker.ts";
import { API_NODE_SERVICES, startFaultSystem, type FaultSystem } from "./support/fault-system.ts";
import { createShow, Traffic } from "./support/traffic.ts";

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

for (const signal of ["SIGTERM", "SIGKILL"] as const) {
  test.serial(`nats-server stopped with ${signal} for 2 s under load, then restarted: nothing lost, no effect twice`, async (t) => {
    const showId = await createShow(sys.apiUrl, 100_000);
    const traffic = new Traffic({ apiUrl: sys.apiUrl, ticketRequestsPerSecond: 8, bookingsPerSecond: 4, showId }).start();
    await settle(2_000);
    // Down for a while, so relays fail publishes and consumers lose their pulls, not just a blip.
    await sys.nats!.stop(signal);
    await settle(2_000);
    await sys.nats!.start();
    await settle(3_000);
    await traffic.stop();

    const report = await waitForConsistency({
      db: sys.db,
      nats: await sys.natsConnection(),
      redisUrl: sys.redis.url,
      topology: sys.topology,
      sim: sys.sim,
      accepted: { tickets: traffic.acceptedTickets, bookings: traffic.acceptedBookings },
    });
    t.log({ counts: report.counts, attempts: Object.fromEntries(traffic.attempts), final: Object.fromEntries(traffic.finalStatuses) });
    t.deepEqual(report.problems, []);
    t.is(traffic.failed, 0, "every client request got a final 2xx/4xx answer after retrying");
    t.true(traffic.acceptedTickets.size > 0 && traffic.acceptedBookings.size > 0);
  });
}
