/**
 * Commit → handler-start latency at a steady rate: each message is written to the outbox in its
 * own transaction, relayed by OutboxRelay (woken by LISTEN/NOTIFY) and handled by a MessageConsumer
 * (the code every node runs); the clock runs from the moment COMMIT is sent to the moment the handler is
 * entered. Baseline, in the same run and at the same rate, interleaved with it: a raw
 * JetStream publish → the same consumer code receiving it.
 *
 *   npm run bench:latency          BENCH_RATE (default 200 events/s), BENCH_SECONDS (default 10)
 */
import { randomUUID } from "node:crypto";
import { TicketBookingConfirmed_v1, TicketBookingCanceled_v1, newHeader, type MessageContract } from "../contracts/index.ts";
import { MessageConsumer } from "../lib/messaging/consumer.ts";
import { createDatabase, migrateToLatest } from "../lib/database/db.ts";
import { connectNats, ensureStreams, openBackbone } from "../lib/messaging/jetstream.ts";
import type { Logger } from "../lib/observability/logger.ts";
import { writeToOutbox } from "../lib/messaging/outbox.ts";
import { OutboxRelay } from "../lib/messaging/relay.ts";
import { createTopology, MessageHeaders } from "../lib/messaging/topology.ts";
import { headers as natsHeaders } from "@nats-io/transport-node";
import { createTestDatabase, removeNamespace, uniqueName } from "../test/support/system.ts";
import { infrastructure } from "../test/support/infrastructure.ts";
import { machine, percentile, report, round, sleep, verdict } from "./support.ts";

const rate = Number(process.env.BENCH_RATE ?? 200);
const seconds = Number(process.env.BENCH_SECONDS ?? 10);
const warmup = Math.min(rate, 50);

const quiet: Logger = { debug() {}, info() {}, warn() {}, error() {} };

function summarise(latencies: number[]) {
  const sorted = [...latencies].sort((a, b) => a - b);
  return { p50: percentile(sorted, 50), p99: percentile(sorted, 99), max: sorted[sorted.length - 1]!, count: sorted.length };
}

async function main(): Promise<void> {
  const infra = await infrastructure();
  const database = await createTestDatabase();
  const db = createDatabase(database.url);
  // a node's relay has connections of its own (lib/runtime.ts), away from the committing clients
  const relayDb = createDatabase(database.url, { max: 2 });
  const nc = await connectNats(infra.natsUrl, "bench-latency");
  const backbone = await openBackbone(nc);
  const topology = createTopology(uniqueName("bench"));
  const committedAt = new Map<string, number>();
  const publishedAt = new Map<string, number>();
  const outboxLatency: number[] = [];
  const rawLatency: number[] = [];
  const consumers: MessageConsumer<MessageContract>[] = [];
  let relay: OutboxRelay | undefined;
  try {
    await migrateToLatest(db);
    await ensureStreams(backbone.jsm, topology, { replicas: 1, duplicateWindowMs: 10 * 60_000, maxAgeMs: 3_600_000 });
    relay = new OutboxRelay({
      db: relayDb,
      js: backbone.js,
      postgresUrl: database.url,
      logger: quiet,
      batchSize: 500,
      pollMs: 500,
    });
    await relay.start();

    // Outbox path on TicketBookingConfirmed_v1, raw path on TicketBookingCanceled_v1: one stream,
    // one consumer each, the same MessageConsumer settings a node uses by default.
    const consume = (contract: MessageContract, sentAt: Map<string, number>, into: number[]) =>
      new MessageConsumer({
        js: backbone.js,
        jsm: backbone.jsm,
        stream: topology.streams.event,
        subject: topology.subject("event", contract.name),
        durable: `bench-${contract.name}`,
        contractOf: () => contract,
        retry: { budgetMs: 15 * 60_000, backoffMs: [400, 800, 1000], backoffMaxMs: 30_000 },
        ackWaitMs: 30_000,
        concurrency: 16,
        logger: quiet,
        handlerName: `bench-${contract.name}`,
        async handle(_payload, delivery) {
          const entered = performance.now();
          const sent = sentAt.get(delivery.messageId);
          if (sent !== undefined) into.push(entered - sent);
        },
        async deadLetter() {
          throw new Error("no message should be dead-lettered in the latency bench");
        },
      });
    for (const consumer of [
      consume(TicketBookingConfirmed_v1, committedAt, outboxLatency),
      consume(TicketBookingCanceled_v1, publishedAt, rawLatency),
    ]) {
      await consumer.start();
      consumers.push(consumer as unknown as MessageConsumer<MessageContract>);
    }

    // Core NATS sees each relayed message as JetStream stores it: splits the outbox path into
    // commit → stored (Postgres, NOTIFY, the relay) and stored → handler (the consumer).
    const storedLatency: number[] = [];
    nc.subscribe(topology.subject("event", TicketBookingConfirmed_v1.name), {
      callback: (_error, msg) => {
        const sent = committedAt.get(msg.headers?.get("Nats-Msg-Id") ?? "");
        if (sent !== undefined) storedLatency.push(performance.now() - sent);
      },
    });
    await nc.flush();

    const body = () => ({ ticket_id: randomUUID(), customer_email: "bench@example.com", price: { amount: "50.00", currency: "EUR" } });
    // The clock starts when COMMIT is sent: the relay, woken by the commit's NOTIFY, can hand the
    // message to its handler before this process has even read the commit's reply.
    const commitOne = () =>
      db.transaction(async (trx) => {
        const { messageId } = await writeToOutbox(
          trx,
          topology,
          { contract: TicketBookingConfirmed_v1, body: { booking_id: randomUUID(), ...body() } },
          { correlationId: randomUUID() },
        );
        committedAt.set(messageId, performance.now());
      });
    const publishOne = async () => {
      const messageId = randomUUID();
      const payload = JSON.stringify(TicketBookingCanceled_v1.schema.parse({ ...body(), header: newHeader() }));
      const h = natsHeaders();
      h.set(MessageHeaders.name, TicketBookingCanceled_v1.name);
      h.set(MessageHeaders.correlationId, randomUUID());
      publishedAt.set(messageId, performance.now());
      await backbone.js.publish(topology.subject("event", TicketBookingCanceled_v1.name), payload, { msgID: messageId, headers: h });
    };

    // Fixed schedule: message i is due at start + i/rate; a late tick catches up, none is skipped.
    const total = warmup + rate * seconds;
    const pending: Promise<unknown>[] = [];
    const started = performance.now();
    for (let i = 0; i < total; i++) {
      const due = started + (i * 1000) / rate;
      const wait = due - performance.now();
      if (wait > 1) await sleep(wait);
      pending.push(commitOne(), publishOne());
    }
    await Promise.all(pending);
    const deadline = Date.now() + 30_000;
    while ((outboxLatency.length < total || rawLatency.length < total) && Date.now() < deadline) await sleep(20);
    if (outboxLatency.length < total || rawLatency.length < total)
      throw new Error(`handled ${outboxLatency.length}/${rawLatency.length} of ${total}`);

    // The first messages pay for connection and consumer warm-up; they are not the steady state.
    const outbox = summarise(outboxLatency.slice(warmup));
    const raw = summarise(rawLatency.slice(warmup));
    const stored = summarise(storedLatency.slice(warmup));
    const ms = (v: number) => round(v, 1);
    report(`bench:latency — ${rate} events/s for ${seconds} s (+${warmup} warm-up), ${machine()}`, {
      "commit → handler start p50 / p99 / max (ms)": `${ms(outbox.p50)} / ${ms(outbox.p99)} / ${ms(outbox.max)}`,
      "  of which commit → stored in JetStream (ms)": `${ms(stored.p50)} / ${ms(stored.p99)} / ${ms(stored.max)}`,
      "raw publish → handler start p50 / p99 / max (ms)": `${ms(raw.p50)} / ${ms(raw.p99)} / ${ms(raw.max)}`,
      "messages measured (outbox / raw)": `${outbox.count} / ${raw.count}`,
      "p50 target": verdict(outbox.p50, 10, false),
      "p99 target": verdict(outbox.p99, 25, false),
      "outbox p50 − raw p50 (ms)": ms(outbox.p50 - raw.p50),
    });
  } finally {
    await Promise.allSettled(consumers.map((c) => c.stop()));
    await relay?.stop().catch(() => undefined);
    await nc.drain().catch(() => undefined);
    await db.destroy();
    await relayDb.destroy();
    await removeNamespace(topology.namespace).catch(() => undefined);
    await database.drop();
  }
}

await main();
