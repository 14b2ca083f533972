/**
 * The production layout: three nats-servers with JetStream in one cluster on loopback, streams
 * (and so their consumers) at JETSTREAM_REPLICAS=3. One server is SIGKILLed under load, brought
 * back and allowed to catch up, then a second one: nothing lost, no effect twice.
 */
import test from "ava";
import { jetstreamManager } from "@nats-io/jetstream";
import { eventually, settle } from "../support/system.ts";
import { waitForConsistency } from "./support/checker.ts";
import { API_NODE_SERVICES, startFaultSystem, type FaultSystem } from "./support/fault-system.ts";
import type { PrivateNats } from "./support/servers.ts";
import { createShow, Traffic } from "./support/traffic.ts";

let sys: FaultSystem;
test.before(async () => {
  sys = await startFaultSystem({ natsCluster: true });
  await sys.startNode("api-1", API_NODE_SERVICES);
  await sys.startNode("worker-1", ["tickets", "bookings", "datalake"]);
});
test.after.always(async () => {
  await sys?.stop();
});
test.afterEach.always((t) => {
  if (!t.passed && sys) t.log(sys.diagnostics().join("\n"));
});

/** Every replica of both streams is back and current. */
async function clusterCaughtUp(): Promise<boolean> {
  const jsm = await jetstreamManager(await sys.natsConnection());
  for (const stream of Object.values(sys.topology.streams)) {
    const info = await jsm.streams.info(stream);
    const replicas = info.cluster?.replicas ?? [];
    if (!info.cluster?.leader || replicas.length !== 2 || replicas.some((r) => !r.current || r.offline)) return false;
  }
  return true;
}

test.serial("three-server cluster, streams at 3 replicas: kill one server under load, then another after the first returns", async (t) => {
  const jsm = await jetstreamManager(await sys.natsConnection());
  t.is((await jsm.streams.info(sys.topology.streams.event)).config.num_replicas, 3);

  const showId = await createShow(sys.apiUrl, 100_000);
  const traffic = new Traffic({ apiUrl: sys.apiUrl, ticketRequestsPerSecond: 8, bookingsPerSecond: 4, showId }).start();
  const killAndReturn = async (server: PrivateNats) => {
    await settle(2_000);
    await server.stop("SIGKILL");
    await settle(3_000);
    await server.start();
    await eventually(clusterCaughtUp, { timeoutMs: 60_000 });
  };
  const [first, second] = sys.natsCluster!.servers;
  await killAndReturn(first!);
  await killAndReturn(second!);
  await settle(1_000);
  await traffic.stop();

  const report = await waitForConsistency({
    db: sys.db,
    nats: await sys.natsConnection(),
    redisUrl: sys.redis.url,
    topology: sys.topology,
    sim: sys.sim,
    accepted: { tickets: traffic.acceptedTickets, bookings: traffic.acceptedBookings },
  });
  t.log({ counts: report.counts, attempts: Object.fromEntries(traffic.attempts) });
  t.deepEqual(report.problems, []);
  t.is(traffic.failed, 0, "every client request got a final 2xx/4xx answer after retrying");
  t.true(traffic.acceptedTickets.size > 0 && traffic.acceptedBookings.size > 0);
});
