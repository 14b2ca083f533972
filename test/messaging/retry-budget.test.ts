// Every wait has a limit and every retry budget is time: a long handler keeps its message (no
// redelivery while it runs), the server's max_deliver sits just above ours, and the default budget
// rides out a ten-minute outage before anything is dead-lettered.
import test from "ava";
import { randomUUID } from "node:crypto";
import type { ServiceSchema } from "moleculer";
import { loadConfig } from "../../config/index.ts";
import { TicketPrinted_v1 } from "../../contracts/index.ts";
import { maxDeliveries, maxDeliveriesOf, retryDelay, retryPolicyOf } from "../../lib/messaging/consumer.ts";
import { writeToOutbox } from "../../lib/messaging/outbox.ts";
import { ConsumerMixin, on } from "../../mixins/consumer.mixin.ts";
import { eventually, quiet, startTestSystem, type TestSystem } from "../support/system.ts";

const HANDLER_MS = 4_000;
const attempts = new Map<string, number>();
const done = new Set<string>();

const slowService = {
  name: "slow",
  mixins: [ConsumerMixin()],
  subscriptions: {
    TakeLong: on(TicketPrinted_v1, async (event) => {
      attempts.set(event.ticket_id, (attempts.get(event.ticket_id) ?? 0) + 1);
      await new Promise((resolve) => setTimeout(resolve, HANDLER_MS));
      done.add(event.ticket_id);
    }),
  },
} as ServiceSchema;

let sys: TestSystem;
test.before(async () => {
  // the handler runs for more than twice the ack wait
  sys = await startTestSystem({ env: { SERVICES: "datalake", CONSUMER_ACK_WAIT_MS: "1500", GATEWAY_TIMEOUT_MS: "1000" } });
  sys.node.broker.createService(slowService);
  await sys.node.broker.waitForServices("slow");
});
test.after.always(async () => {
  await sys?.stop();
});

test.serial("a handler running longer than the ack wait keeps its message: it is not redelivered while it runs", async (t) => {
  const ticketId = randomUUID();
  await sys.node.runtime.db.transaction((trx) =>
    writeToOutbox(trx, sys.node.runtime.topology, { contract: TicketPrinted_v1, body: { ticket_id: ticketId, file_name: "f" } }),
  );
  await eventually(() => done.has(ticketId), { timeoutMs: 30_000 });
  await eventually(() => quiet(sys));
  t.is(attempts.get(ticketId), 1);
});

test.serial("the server's max_deliver is one above the consumer's own delivery limit", async (t) => {
  const info = await sys.node.runtime.backbone.jsm.consumers.info(sys.node.runtime.topology.streams.event, "slow-TakeLong");
  t.is(info.config.max_deliver, maxDeliveriesOf(sys.config) + 1);
});

test("the default retry budget rides out a ten-minute outage: the waits before the last delivery add up to at least ten minutes", (t) => {
  const policy = retryPolicyOf(loadConfig({}));
  const last = maxDeliveries(policy);
  let waited = 0;
  for (let delivery = 1; delivery < last; delivery++) waited += retryDelay(policy, delivery);
  t.true(waited >= 10 * 60_000, `only ${waited} ms of retries`);
});

test("a retry budget that outlasts the streams' max age is refused at start-up: JetStream would drop the message mid-retry", (t) => {
  t.throws(
    () =>
      loadConfig({
        JETSTREAM_MAX_AGE_MS: "600000",
        CONSUMER_RETRY_BUDGET_MS: "900000",
        INBOX_RETENTION_MS: "700000",
        REDIS_MIRROR_MAX_AGE_MS: "300000",
      }),
    {
      message: /CONSUMER_RETRY_BUDGET_MS must be shorter than JETSTREAM_MAX_AGE_MS/,
    },
  );
  t.notThrows(() =>
    loadConfig({
      JETSTREAM_MAX_AGE_MS: "960000",
      CONSUMER_RETRY_BUDGET_MS: "900000",
      INBOX_RETENTION_MS: "1020000",
      REDIS_MIRROR_MAX_AGE_MS: "300000",
    }),
  );
});

test("the budget is time: a longer backoff cap gives fewer deliveries for the same budget", (t) => {
  const budget = { budgetMs: 60_000, backoffMs: [400, 800, 1000] };
  t.true(maxDeliveries({ ...budget, backoffMaxMs: 30_000 }) < maxDeliveries({ ...budget, backoffMaxMs: 5_000 }));
});

test.serial("every Postgres session of a node has its waits bounded", async (t) => {
  for (const db of [sys.node.runtime.db, sys.node.runtime.handlerDb]) {
    // pg_settings gives these in milliseconds
    const ms = async (name: string) => Number((await db("pg_settings").first("setting").where({ name })).setting);
    t.is(await ms("statement_timeout"), sys.config.POSTGRES_STATEMENT_TIMEOUT_MS);
    t.is(await ms("lock_timeout"), sys.config.POSTGRES_LOCK_TIMEOUT_MS);
    t.is(await ms("idle_in_transaction_session_timeout"), sys.config.POSTGRES_IDLE_IN_TRANSACTION_TIMEOUT_MS);
  }
});
