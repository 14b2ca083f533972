// The operator's admin actions, called through the broker as the REPL calls them: outbox and
// consumer health after real traffic, and the dead-letter lifecycle of a poison message (list,
// show, failed replay, replay after the fault is gone, drop) with one receipt per ticket.
import test from "ava";
import { randomUUID } from "node:crypto";
import type { TicketsNode } from "../../node/start-node.ts";
import type { ConsumerStatus } from "../../lib/inspection/consumer-status.ts";
import type { DeadLetterDetail, DeadLetterSummary, ReplayResult } from "../../lib/messaging/dead-letters.ts";
import type { OutboxStatus } from "../../lib/inspection/outbox-status.ts";
import { receiptsFor } from "../support/effects.ts";
import { eventually, quiet, startTestSystem, type TestSystem } from "../support/system.ts";

let sys: TestSystem;
/** A node with nothing but `admin`, like the REPL's: the actions must work from there too. */
let operator: TicketsNode;
test.before(async () => {
  sys = await startTestSystem({ env: { SERVICES: "api,tickets,datalake,admin" } });
  operator = await sys.startNode({ SERVICES: "admin" });
  await operator.broker.waitForServices(["tickets"], 15_000);
});
test.after.always(async () => {
  await sys?.stop();
});

/** Calls an admin action on the operator node itself, so the answer cannot come from a business node. */
const admin = <T>(action: string, params: Record<string, unknown> = {}) =>
  operator.broker.call<T, Record<string, unknown>>(`admin.${action}`, params, { nodeID: operator.broker.nodeID });

const confirmation = () => ({
  ticket_id: randomUUID(),
  status: "confirmed",
  price: { amount: "42.00", currency: "EUR" },
  customer_email: "admin-test@example.com",
});
async function confirm(tickets: ReturnType<typeof confirmation>[], correlationId: string = randomUUID()) {
  const response = await sys.http(
    "POST",
    "/api/tickets-status",
    { tickets },
    { "Idempotency-Key": randomUUID(), "Correlation-ID": correlationId },
  );
  if (response.status !== 200) throw new Error(`tickets-status answered ${response.status}: ${response.text}`);
}
const receiptsPath = { method: "PUT", path: "/receipts-api/receipts" };
const letters = () => admin<DeadLetterSummary[]>("dlqList");

test.serial("admin.outbox reports backlog, a failing row with its age, the relay rate and the mirror lag", async (t) => {
  await confirm([confirmation(), confirmation()]);
  await eventually(() => quiet(sys));

  const idle = await admin<OutboxStatus>("outbox");
  const relayedRecently = Number(
    (
      await sys.node.runtime
        .db("outbox")
        .whereNotNull("published_at")
        .where("published_at", ">", sys.node.runtime.db.raw("now() - interval '1 minute'"))
        .count({ n: "*" })
    )[0]!.n,
  );
  t.is(idle.pending, 0);
  t.is(idle.oldestPendingAgeMs, null);
  t.true(idle.publishedLastMinute >= 2);
  t.is(idle.publishedLastMinute, relayedRecently);
  t.is(idle.relayRatePerSecond, Math.round((relayedRecently / 60) * 100) / 100);
  const mirrored = (await eventually(async () => {
    const { mirror } = await admin<OutboxStatus>("outbox");
    return mirror?.find((s) => s.stream === sys.node.runtime.topology.streams.event && s.lastSeq > 0 && s.behind === 0);
  }))!;
  t.is(mirrored.mirroredSeq, mirrored.lastSeq);

  // A row no stream captures: every relay attempt fails, so it stays pending and counts as failing.
  const stuck = randomUUID();
  await sys.node.runtime.db("outbox").insert({
    message_id: stuck,
    kind: "event",
    name: "Stuck_v1",
    subject: `${sys.namespace}.nowhere.Stuck_v1`,
    payload: "{}",
    metadata: {},
  });
  try {
    const blocked = (await eventually(async () => {
      const status = await admin<OutboxStatus>("outbox");
      return status.failing === 1 && status.oldestPendingAgeMs! > 0 ? status : undefined;
    }))!;
    t.is(blocked.pending, 1);
  } finally {
    await sys.node.runtime.db("outbox").where({ message_id: stuck }).delete();
  }
  t.is((await admin<OutboxStatus>("outbox")).pending, 0);
});

test.serial("admin.consumers lists every durable of the namespace, idle after the traffic", async (t) => {
  await confirm([confirmation()]);
  await eventually(() => quiet(sys));
  const consumers = await admin<ConsumerStatus[]>("consumers");
  const { streams } = sys.node.runtime.topology;
  const names = consumers.map((c) => c.durable);
  for (const durable of [
    "tickets-StoreTicket",
    "tickets-IssueReceipt",
    "tickets-PrintTicket",
    "tickets-AppendToTracker",
    "datalake-StoreToDataLake",
  ]) {
    t.true(names.includes(durable), durable);
  }
  t.true(consumers.every((c) => c.stream === streams.event || c.stream === streams.command));
  t.true(consumers.every((c) => c.pending === 0 && c.ackPending === 0 && c.deadLetters === 0));
  const store = consumers.find((c) => c.durable === "tickets-StoreTicket")!;
  t.is(store.stream, streams.event);
  t.truthy(store.lastActive);
  t.true(Date.parse(store.lastActive!) <= Date.now());
});

test.serial("a poison message: listed and shown, replay fails while the gateway does, succeeds after, one receipt", async (t) => {
  const ticket = confirmation();
  const correlationId = `corr-${randomUUID()}`;
  sys.sim.failNext(receiptsPath, 4, 500);
  await confirm([ticket], correlationId);

  const [letter] = (await eventually(async () => {
    const list = await letters();
    return list.length === 1 ? list : undefined;
  }))!;
  t.is(letter!.handler, "tickets-IssueReceipt");
  t.is(letter!.service, "tickets");
  t.is(letter!.name, "TicketBookingConfirmed_v1");
  t.is(letter!.deliveries, 4);
  t.is(receiptsFor(sys, ticket.ticket_id).length, 0);
  await eventually(() => quiet(sys));
  const issueReceipt = (await admin<ConsumerStatus[]>("consumers")).find((c) => c.durable === "tickets-IssueReceipt")!;
  t.is(issueReceipt.deadLetters, 1);

  const shown = await admin<DeadLetterDetail>("dlqShow", { id: letter!.id });
  t.is(JSON.parse(shown.payload).ticket_id, ticket.ticket_id);
  t.is(shown.metadata.correlation_id, correlationId);
  t.is(shown.subject, `${sys.namespace}.events.TicketBookingConfirmed_v1`);
  t.regex(shown.error, /500/);

  sys.sim.failNext(receiptsPath, 1, 500);
  const [failed] = await admin<ReplayResult[]>("dlqReplay", { id: letter!.id });
  t.is(failed!.id, letter!.id);
  t.false(failed!.replayed);
  t.regex(failed!.error!, /500/);
  const stillThere = await letters();
  t.deepEqual(
    stillThere.map((l) => [l.id, l.deliveries]),
    [[letter!.id, 5]],
  );
  t.is(receiptsFor(sys, ticket.ticket_id).length, 0);

  t.deepEqual(await admin<ReplayResult[]>("dlqReplay", { id: String(letter!.id) }), [{ id: letter!.id, replayed: true }]);
  t.deepEqual(await letters(), []);
  t.is(receiptsFor(sys, ticket.ticket_id).length, 1);
  // replaying something already replayed finds nothing, and the receipt stays single
  await t.throwsAsync(admin("dlqReplay", { id: letter!.id }), { message: /not found/ });
  await eventually(() => quiet(sys));
  t.is(receiptsFor(sys, ticket.ticket_id).length, 1);
});

test.serial("dropping a dead letter removes it without running its handler", async (t) => {
  const ticket = confirmation();
  sys.sim.failNext(receiptsPath, 1, 400);
  await confirm([ticket]);
  const [letter] = (await eventually(async () => {
    const list = await letters();
    return list.length === 1 ? list : undefined;
  }))!;
  t.is(letter!.deliveries, 1, "a permanent refusal is dead-lettered at once");

  t.deepEqual(await admin("dlqDrop", { id: letter!.id }), { id: letter!.id, dropped: true });
  t.deepEqual(await letters(), []);
  await t.throwsAsync(admin("dlqDrop", { id: letter!.id }), { message: `dead letter ${letter!.id} not found` });
  await eventually(() => quiet(sys));
  t.is(receiptsFor(sys, ticket.ticket_id).length, 0);
});

test.serial("replay all hands every dead letter back, each ticket ends with one receipt", async (t) => {
  const tickets = [confirmation(), confirmation()];
  // the receipts API is down until both are dead-lettered (its circuit spares it some deliveries)
  sys.sim.failNext(receiptsPath, 1_000_000, 500);
  await confirm([tickets[0]!]);
  await confirm([tickets[1]!]);
  const dead = (await eventually(async () => {
    const list = await letters();
    return list.length === 2 ? list : undefined;
  }))!;
  await eventually(() => quiet(sys));
  sys.sim.clearFaults();

  const results = await admin<ReplayResult[]>("dlqReplay", { id: "all" });
  t.deepEqual(
    results,
    dead.map((l) => ({ id: l.id, replayed: true })),
  );
  t.deepEqual(await letters(), []);
  t.deepEqual(await admin<ReplayResult[]>("dlqReplay", { id: "all" }), []);
  await eventually(() => quiet(sys));
  for (const ticket of tickets) t.is(receiptsFor(sys, ticket.ticket_id).length, 1);
});

test.serial("bad admin parameters are client errors that change nothing", async (t) => {
  const badRequest = { code: 400 } as const;
  await t.throwsAsync(admin("dlqShow", { id: "abc" }), { ...badRequest, message: /id: must be a dead-letter id/ });
  await t.throwsAsync(admin("dlqShow", {}), badRequest);
  await t.throwsAsync(admin("dlqReplay", { id: "some" }), { ...badRequest, message: /"all"/ });
  await t.throwsAsync(admin("dlqDrop", { id: -1 }), badRequest);
  await t.throwsAsync(admin("rebuildReadModel", { name: "nope" }), { ...badRequest, message: /ops-bookings/ });
  await t.throwsAsync(admin("dlqShow", { id: 987654 }), { code: 404, message: "dead letter 987654 not found" });
});

test.serial("admin.handlerCounts shows the handler work of the node it is asked on", async (t) => {
  await confirm([confirmation()]);
  await eventually(() => quiet(sys));
  const counts = await sys.node.broker.call<{ nodeID: string; handlers: { handler: string; topic: string; processed: number }[] }, object>(
    "admin.handlerCounts",
    {},
    { nodeID: sys.node.broker.nodeID },
  );
  t.is(counts.nodeID, sys.node.broker.nodeID);
  const store = counts.handlers.find((h) => h.handler === "StoreTicket" && h.topic === `${sys.namespace}.events.TicketBookingConfirmed_v1`);
  t.truthy(store);
  const confirmedSoFar = Number((await sys.node.runtime.db("tickets").count({ n: "*" }))[0]!.n);
  t.true(store!.processed >= confirmedSoFar);
});
