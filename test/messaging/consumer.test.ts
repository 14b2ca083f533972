import test from "ava";
import { randomUUID } from "node:crypto";
import type { ServiceSchema } from "moleculer";
import { headers as natsHeaders } from "@nats-io/transport-node";
import { TicketPrinted_v1 } from "../../contracts/index.ts";
import type { TicketsNode } from "../../node/start-node.ts";
import { ConsumerMixin, on } from "../../mixins/consumer.mixin.ts";
import { publishTicketsPrinted } from "../support/messages.ts";
import { eventually, settle, startTestSystem, type TestSystem } from "../support/system.ts";
import { maxDeliveriesOf } from "../../lib/messaging/consumer.ts";

/**
 * A probe service whose handler behaviour each test sets by ticket id: how many deliveries fail
 * before it succeeds (Infinity = always). Effects are counted per ticket and per node.
 */
interface Probe {
  failFirst: Map<string, number>;
  attempts: Map<string, number>;
  effects: Map<string, string[]>;
}
const probe: Probe = { failFirst: new Map(), attempts: new Map(), effects: new Map() };

function probeService(nodeLabel: string): ServiceSchema {
  return {
    name: "probe",
    mixins: [ConsumerMixin()],
    subscriptions: {
      RecordPrinted: on(TicketPrinted_v1, async (event) => {
        const id = event.ticket_id;
        const attempt = (probe.attempts.get(id) ?? 0) + 1;
        probe.attempts.set(id, attempt);
        if (attempt <= (probe.failFirst.get(id) ?? 0)) throw new Error(`planned failure ${attempt}`);
        probe.effects.set(id, [...(probe.effects.get(id) ?? []), nodeLabel]);
      }),
    },
  } as ServiceSchema;
}

let sys: TestSystem;
let second: TicketsNode;
test.before(async () => {
  sys = await startTestSystem({ env: { SERVICES: "datalake" } });
  sys.node.broker.createService(probeService("first"));
  second = await sys.startNode({ SERVICES: "datalake" });
  second.broker.createService(probeService("second"));
  await Promise.all([sys.node.broker.waitForServices("probe"), second.broker.waitForServices("probe")]);
});
test.after.always(async () => {
  await sys?.stop();
});

const deadLetters = (where: Record<string, unknown> = {}) =>
  sys.node.runtime.db("dead_letters").where({ handler: "probe-RecordPrinted", ...where });

test.serial("a handler failing twice then succeeding applies its effect once", async (t) => {
  const ticket = randomUUID();
  probe.failFirst.set(ticket, 2);
  await publishTicketsPrinted(sys, [ticket]);
  await eventually(() => probe.effects.get(ticket));
  await settle(500);
  t.is(probe.attempts.get(ticket), 3);
  t.is(probe.effects.get(ticket)!.length, 1);
  t.is((await deadLetters()).length, 0);
});

test.serial("a message failing every delivery is dead-lettered after the limit while later messages keep flowing", async (t) => {
  const poison = randomUUID();
  probe.failFirst.set(poison, Infinity);
  const later = Array.from({ length: 20 }, () => randomUUID());
  await publishTicketsPrinted(sys, [poison]);
  await publishTicketsPrinted(sys, later);

  // later messages are handled while the poison one is still being retried
  await eventually(() => later.every((id) => probe.effects.get(id)?.length === 1));
  const letter = await eventually(() =>
    deadLetters().where({ name: "TicketPrinted_v1" }).whereRaw("payload::jsonb->>'ticket_id' = ?", [poison]).first(),
  );
  t.is(letter.deliveries, maxDeliveriesOf(sys.config));
  t.is(probe.attempts.get(poison), maxDeliveriesOf(sys.config));
  t.regex(letter.error, /planned failure/);
  t.is(probe.effects.get(poison), undefined);

  // after a fix, a replay applies the effect exactly once and clears the letter
  probe.failFirst.set(poison, 0);
  const replay = await sys.node.broker.call("probe.replayDeadLetter", { id: letter.id }, { nodeID: sys.node.broker.nodeID });
  t.deepEqual(replay, { id: letter.id, replayed: true });
  t.deepEqual(probe.effects.get(poison)!.length, 1);
  t.is((await deadLetters({ id: letter.id })).length, 0);
});

test.serial("a malformed message is dead-lettered at once and does not block the ones behind it", async (t) => {
  const { js } = sys.node.runtime.backbone;
  const subject = sys.node.runtime.topology.subject("event", "TicketPrinted_v1");
  const messageId = randomUUID();
  const h = natsHeaders();
  h.set("Tickets-Message-Name", "TicketPrinted_v1");
  await js.publish(subject, JSON.stringify({ header: { id: "nope" }, ticket_id: 42 }), { msgID: messageId, headers: h });
  const behind = randomUUID();
  await publishTicketsPrinted(sys, [behind]);

  const letter = await eventually(() => deadLetters({ message_id: messageId }).first());
  t.is(letter.deliveries, 1, "no retries spent on a message that can never parse");
  t.regex(letter.error, /breaks contract TicketPrinted_v1/);
  await eventually(() => probe.effects.get(behind));
  t.is(probe.effects.get(behind)!.length, 1);
});

test.serial("two instances of a service split the messages of one durable, none handled twice", async (t) => {
  const tickets = Array.from({ length: 200 }, () => randomUUID());
  await publishTicketsPrinted(sys, tickets);
  await eventually(() => tickets.every((id) => probe.effects.has(id)), { timeoutMs: 30_000 });
  await settle(500);
  const handledBy = tickets.map((id) => probe.effects.get(id)!);
  t.true(
    handledBy.every((nodes) => nodes.length === 1),
    "every message handled exactly once",
  );
  const first = handledBy.filter(([node]) => node === "first").length;
  const secondCount = handledBy.filter(([node]) => node === "second").length;
  t.true(first > 0 && secondCount > 0, `both instances took a share (${first} / ${secondCount})`);
});

test.serial("a node stopping gracefully lets its in-flight message finish and acks it: no redelivery", async (t) => {
  const slow = { started: new Set<string>(), finished: new Map<string, number>() };
  const ticket = randomUUID();
  const leaving = await sys.startNode({ SERVICES: "datalake" });
  leaving.broker.createService({
    name: "slowprobe",
    mixins: [ConsumerMixin()],
    subscriptions: {
      SlowRecord: on(TicketPrinted_v1, async (event) => {
        slow.started.add(event.ticket_id);
        // the new durable starts at the stream's beginning: only this test's ticket is slow
        if (event.ticket_id === ticket) await settle(1000);
        slow.finished.set(event.ticket_id, (slow.finished.get(event.ticket_id) ?? 0) + 1);
      }),
    },
  } as ServiceSchema);
  await leaving.broker.waitForServices("slowprobe");
  await publishTicketsPrinted(sys, [ticket]);
  await eventually(() => slow.started.has(ticket));
  await leaving.stop();
  t.is(slow.finished.get(ticket), 1, "the in-flight handler ran to the end before the node stopped");

  // a new instance of the same durable gets nothing more to do for that message
  const successor = await sys.startNode({ SERVICES: "datalake" });
  successor.broker.createService({
    name: "slowprobe",
    mixins: [ConsumerMixin()],
    subscriptions: {
      SlowRecord: on(TicketPrinted_v1, async (event) => {
        slow.finished.set(event.ticket_id, (slow.finished.get(event.ticket_id) ?? 0) + 1);
      }),
    },
  } as ServiceSchema);
  await successor.broker.waitForServices("slowprobe");
  await settle(1500);
  t.is(slow.finished.get(ticket), 1);
  const info = await sys.node.runtime.backbone.jsm.consumers.info(sys.node.runtime.topology.streams.event, "slowprobe-SlowRecord");
  t.is(info.num_ack_pending, 0);
  t.is(info.num_pending, 0);
});

test.serial("a node restarting with a longer ack wait updates the existing durable on the server", async (t) => {
  const { jsm } = sys.node.runtime.backbone;
  const stream = sys.node.runtime.topology.streams.event;
  const ackWait = async () => (await jsm.consumers.info(stream, "probe-RecordPrinted")).config.ack_wait;
  t.is(await ackWait(), sys.config.CONSUMER_ACK_WAIT_MS * 1_000_000);

  const patient = await sys.startNode({ SERVICES: "datalake", CONSUMER_ACK_WAIT_MS: String(sys.config.CONSUMER_ACK_WAIT_MS + 7_000) });
  patient.broker.createService(probeService("patient"));
  // the other nodes already offer "probe", so waitForServices would not wait for this one
  const longer = (sys.config.CONSUMER_ACK_WAIT_MS + 7_000) * 1_000_000;
  t.is(await eventually(async () => ((await ackWait()) === longer ? longer : undefined)), longer);
  await patient.stop();
});
