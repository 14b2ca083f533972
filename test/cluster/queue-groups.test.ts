import test from "ava";
import type { ServiceBroker } from "moleculer";
import { startTestSystem } from "../support/system.ts";

/** The path Moleculer takes when a node broadcasts its services (a second after start, after every reconnect). */
const broadcastServices = (broker: ServiceBroker) =>
  (broker.registry as unknown as { discoverer: { sendLocalNodeInfo(): Promise<void> } }).discoverer.sendLocalNodeInfo();

test("calls keep reaching the only node of a service while it renews its queue-group subscriptions: none is lost", async (t) => {
  const sys = await startTestSystem({ env: { SERVICES: "api" } });
  t.teardown(() => sys.stop());
  const showsNode = await sys.startNode({ SERVICES: "shows" });
  await sys.node.broker.waitForServices(["shows"], 10_000);

  let calling = true;
  let answered = 0;
  const callers = Array.from({ length: 10 }, async () => {
    while (calling) {
      // no retry: a call that reached no node fails at its timeout instead of being sent again
      await sys.node.broker.call("shows.list", {}, { retries: 0, timeout: 8_000 });
      answered++;
    }
  });
  // two at a time, as start-up, a new service and a reconnect may overlap
  for (let renewal = 0; renewal < 10; renewal++)
    await Promise.all([broadcastServices(showsNode.broker), broadcastServices(showsNode.broker)]);
  calling = false;
  const outcomes = await Promise.allSettled(callers);

  t.deepEqual(
    outcomes.flatMap((outcome) => (outcome.status === "rejected" ? [String(outcome.reason)] : [])),
    [],
  );
  t.true(answered > 0);
});
