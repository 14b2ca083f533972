import test from "ava";
import { randomUUID } from "node:crypto";
import type { ServiceSchema } from "moleculer";
import { headers as natsHeaders } from "@nats-io/transport-node";
import { TicketPrinted_v1 } from "../../contracts/index.ts";
import { ConsumerMixin, onBatch } from "../../mixins/consumer.mixin.ts";
import { maxDeliveriesOf } from "../../lib/messaging/consumer.ts";
import { publishTicketsPrinted } from "../support/messages.ts";
import { eventually, settle, startTestSystem, type TestSystem } from "../support/system.ts";

/**
 * A batch handler handles the messages that arrive together in one call; a batch that fails is
 * handled again message by message, so one bad message costs the others nothing and is retried and
 * dead-lettered on its own. The probe applies a batch all or nothing, as one INSERT would.
 */
interface Probe {
  /** Tickets whose every attempt fails, and so fails any batch holding them. */
  failing: Set<string>;
  batchSizes: number[];
  /** Batches of more than one message that held a failing ticket. */
  failedBatchesWithOthers: number;
  attempts: Map<string, number>;
  effects: Map<string, number>;
}

const newProbe = (): Probe => ({ failing: new Set(), batchSizes: [], failedBatchesWithOthers: 0, attempts: new Map(), effects: new Map() });

function probeService(name: string, probe: Probe): ServiceSchema {
  return {
    name,
    mixins: [ConsumerMixin()],
    subscriptions: {
      RecordPrinted: onBatch(TicketPrinted_v1, async (batch) => {
        const ids = batch.map(({ payload }) => payload.ticket_id);
        probe.batchSizes.push(ids.length);
        for (const id of ids) probe.attempts.set(id, (probe.attempts.get(id) ?? 0) + 1);
        if (ids.some((id) => probe.failing.has(id))) {
          if (ids.length > 1) probe.failedBatchesWithOthers++;
          throw new Error("planned failure");
        }
        for (const id of ids) probe.effects.set(id, (probe.effects.get(id) ?? 0) + 1);
      }),
    },
  } as ServiceSchema;
}

let sys: TestSystem;
test.before(async () => {
  sys = await startTestSystem({ env: { SERVICES: "datalake" } });
});
test.after.always(async () => {
  await sys?.stop();
});

/** Starts the probe once the messages are in the stream: its new durable then gets them in one pull. */
async function startProbe(name: string, probe: Probe): Promise<void> {
  sys.node.broker.createService(probeService(name, probe));
  await sys.node.broker.waitForServices(name);
}

async function inStream(count: number, before: number): Promise<void> {
  const { jsm } = sys.node.runtime.backbone;
  await eventually(async () => (await jsm.streams.info(sys.node.runtime.topology.streams.event)).state.messages >= before + count);
}

const streamMessages = async () =>
  (await sys.node.runtime.backbone.jsm.streams.info(sys.node.runtime.topology.streams.event)).state.messages;

test.serial("messages that arrive together are handled in one call, each effect once", async (t) => {
  const probe = newProbe();
  const tickets = Array.from({ length: 40 }, () => randomUUID());
  const before = await streamMessages();
  await publishTicketsPrinted(sys, tickets);
  await inStream(tickets.length, before);
  await startProbe("batchprobe", probe);

  await eventually(() => tickets.every((id) => probe.effects.get(id) === 1), { timeoutMs: 20_000 });
  await settle(500);
  t.true(
    tickets.every((id) => probe.effects.get(id) === 1),
    "every message handled exactly once",
  );
  t.true(Math.max(...probe.batchSizes) > 1, `messages were batched (${probe.batchSizes.join(", ")})`);
});

test.serial(
  "a batch holding a message that always fails: the others are handled once, the failing one alone is dead-lettered after the limit",
  async (t) => {
    const probe = newProbe();
    const failing = randomUUID();
    probe.failing.add(failing);
    const others = Array.from({ length: 30 }, () => randomUUID());
    const before = await streamMessages();
    await publishTicketsPrinted(sys, [...others.slice(0, 15), failing, ...others.slice(15)]);
    await inStream(others.length + 1, before);
    await startProbe("failprobe", probe);

    const letter = await eventually(
      () =>
        sys.node.runtime
          .db("dead_letters")
          .where({ handler: "failprobe-RecordPrinted" })
          .whereRaw("payload::jsonb->>'ticket_id' = ?", [failing])
          .first(),
      { timeoutMs: 30_000 },
    );
    await eventually(() => others.every((id) => probe.effects.get(id) === 1));
    await settle(500);
    t.true(probe.failedBatchesWithOthers > 0, "the failing message shared a batch with others");
    t.true(
      others.every((id) => probe.effects.get(id) === 1),
      "every other message handled exactly once",
    );
    t.is(probe.effects.get(failing), undefined);
    t.is(letter.deliveries, maxDeliveriesOf(sys.config), "retried on its own up to the limit");
    t.regex(letter.error, /planned failure/);
    t.is((await sys.node.runtime.db("dead_letters").where({ handler: "failprobe-RecordPrinted" })).length, 1);
  },
);

test.serial("a malformed message never joins a batch: dead-lettered at once, the messages beside it handled once", async (t) => {
  const probe = newProbe();
  const { js } = sys.node.runtime.backbone;
  const subject = sys.node.runtime.topology.subject("event", "TicketPrinted_v1");
  const malformedId = randomUUID();
  const h = natsHeaders();
  h.set("Tickets-Message-Name", "TicketPrinted_v1");
  const around = Array.from({ length: 20 }, () => randomUUID());
  const before = await streamMessages();
  await publishTicketsPrinted(sys, around.slice(0, 10));
  await js.publish(subject, JSON.stringify({ header: { id: "nope" }, ticket_id: 42 }), { msgID: malformedId, headers: h });
  await publishTicketsPrinted(sys, around.slice(10));
  await inStream(around.length + 1, before);
  await startProbe("malformedprobe", probe);

  const letter = await eventually(() =>
    sys.node.runtime.db("dead_letters").where({ message_id: malformedId, handler: "malformedprobe-RecordPrinted" }).first(),
  );
  await eventually(() => around.every((id) => probe.effects.get(id) === 1));
  await settle(500);
  t.is(letter.deliveries, 1, "no retries spent on a message that can never parse");
  t.regex(letter.error, /breaks contract TicketPrinted_v1/);
  t.true(
    around.every((id) => probe.effects.get(id) === 1),
    "every message beside it handled exactly once",
  );
  // the new durable reads the stream from its start, earlier tests' messages included: only the malformed one is missing
  t.false(probe.attempts.has(42 as unknown as string), "the malformed one never reached the handler");
});
