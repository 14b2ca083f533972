import test from "ava";
import { randomUUID } from "node:crypto";
import type { ServiceSchema } from "moleculer";
import { TicketPrinted_v1 } from "../../contracts/index.ts";
import type { MessageConsumer } from "../../lib/messaging/consumer.ts";
import { ConsumerMixin, on } from "../../mixins/consumer.mixin.ts";
import { publishTicketsPrinted } from "../support/messages.ts";
import { eventually, startTestSystem, type TestSystem } from "../support/system.ts";

/**
 * The JetStream client ends a consume on its own after some server answers (a stopped iterator, no
 * error): a durable nobody pulls from would stall without a word. The consumer reopens it.
 */
const handled = new Map<string, number>();
const probe = {
  name: "reopenprobe",
  mixins: [ConsumerMixin()],
  subscriptions: {
    CountPrinted: on(TicketPrinted_v1, async (event) => {
      handled.set(event.ticket_id, (handled.get(event.ticket_id) ?? 0) + 1);
    }),
  },
} as ServiceSchema;

let sys: TestSystem;
test.before(async () => {
  sys = await startTestSystem({ env: { SERVICES: "datalake" } });
  sys.node.broker.createService(probe);
  await sys.node.broker.waitForServices("reopenprobe");
});
test.after.always(async () => {
  await sys?.stop();
});

test.serial("a consume the client library ended on its own is reopened: later messages are handled, once each", async (t) => {
  const before = randomUUID();
  await publishTicketsPrinted(sys, [before]);
  await eventually(async () => handled.get(before) === 1 || undefined);

  const service = sys.node.broker.getLocalService("reopenprobe") as unknown as { consumers: MessageConsumer<typeof TicketPrinted_v1>[] };
  const [consumer] = service.consumers;
  // what the client does on those answers: its iterator simply ends
  (consumer as unknown as { messages: { stop(): void } }).messages.stop();

  const after = randomUUID();
  await publishTicketsPrinted(sys, [after]);
  await eventually(async () => handled.get(after) === 1 || undefined);
  t.is(handled.get(before), 1);
  t.is(handled.get(after), 1);
});
