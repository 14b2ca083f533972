/**
 * A relay that published and died before marking its rows stays down longer than JetStream's
 * duplicate window (JETSTREAM_DUPLICATE_WINDOW_MS set to 1 s here), so the republished messages are
 * stored a second time. Consumers, the data lake and the Redis mirror must still apply each once.
 */
import test from "ava";
import { settle } from "../support/system.ts";
import { waitForConsistency } from "./support/checker.ts";
import { API_NODE_SERVICES, startFaultSystem, type FaultSystem } from "./support/fault-system.ts";
import { crashRelayAfterPublish } from "./support/relay-crash.ts";

const duplicateWindowMs = 1_000;

let sys: FaultSystem;
test.before(async () => {
  sys = await startFaultSystem({ env: { JETSTREAM_DUPLICATE_WINDOW_MS: String(duplicateWindowMs) } });
});
test.after.always(async () => {
  await sys?.stop();
});
test.afterEach.always((t) => {
  if (!t.passed && sys) t.log(sys.diagnostics().join("\n"));
});

test.serial(
  "relay down longer than the duplicate window, then back: JetStream holds duplicates, every effect still applied once",
  async (t) => {
    const crash = await crashRelayAfterPublish(sys, 300);
    t.true(crash.inJetStream > crash.marked, "the kill landed after publishing and before marking");
    await settle(duplicateWindowMs * 3);

    await sys.startNode("api-1", API_NODE_SERVICES);
    const report = await waitForConsistency({
      db: sys.db,
      nats: await sys.natsConnection(),
      redisUrl: sys.redis.url,
      topology: sys.topology,
      sim: sys.sim,
      allowJetStreamDuplicates: true,
    });
    t.log({ crash, counts: report.counts });
    t.true(report.counts.jetStreamDuplicates > 0, "the republished messages were stored again (the window had passed)");
    t.deepEqual(report.problems, []);
    t.is(report.counts.confirmedTickets, crash.written);
    t.is(report.counts.receipts, crash.written);
  },
);
