/**
 * Outbox relay throughput: committed outbox rows → JetStream-acknowledged and marked, against the
 * raw JetStream async publish rate of the same messages (same payloads, subjects and headers, a
 * fresh message id each) from the same process in the same run. Beside it: the Redis mirror's
 * entries/s catching up on what the relay published, and the relay's rate while the mirror runs
 * next to it — against a live Redis and against a Redis that is down.
 *
 *   npm run bench:relay            BENCH_RELAY_ROWS (default 20000), BENCH_ROUNDS (default 3),
 *                                  BENCH_RELAY_MIRROR=0 leaves the mirror phases out
 */
import { randomUUID } from "node:crypto";
import { headers as natsHeaders } from "@nats-io/transport-node";
import { Redis } from "ioredis";
import { loadConfig } from "../config/index.ts";
import { TicketBookingConfirmed_v1 } from "../contracts/index.ts";
import { createDatabase, migrateToLatest, type Database } from "../lib/database/db.ts";
import { connectNats, ensureStreams, openBackbone, type Backbone } from "../lib/messaging/jetstream.ts";
import type { Logger } from "../lib/observability/logger.ts";
import { writeToOutbox } from "../lib/messaging/outbox.ts";
import { OutboxRelay } from "../lib/messaging/relay.ts";
import { createTopology, MessageHeaders, type Topology } from "../lib/messaging/topology.ts";
import { createTestDatabase, removeNamespace, uniqueName } from "../test/support/system.ts";
import { infrastructure } from "../test/support/infrastructure.ts";
import { cpuSpent, machine, median, report, round, sampleCpu, sleep, verdict } from "./support.ts";

const rows = Number(process.env.BENCH_RELAY_ROWS ?? 20_000);
const rounds = Number(process.env.BENCH_ROUNDS ?? 3);
/** A node's OUTBOX_BATCH_SIZE, read the way a node reads it (default from config/). */
const batchSize = loadConfig().OUTBOX_BATCH_SIZE;
/** Publishes in flight during the raw baseline (a sliding window, the usual async-publish pattern). */
const rawWindow = Number(process.env.BENCH_RAW_WINDOW ?? 1000);

const quiet: Logger = { debug() {}, info() {}, warn() {}, error() {} };
const mirrorLogger = { ...quiet, info() {}, error: (o: object, m: string) => console.error(m, o) };

interface StoredRow {
  subject: string;
  name: string;
  payload: string;
  metadata: Record<string, string>;
}

async function fillOutbox(db: Database, topology: Topology): Promise<void> {
  for (let written = 0; written < rows; ) {
    const chunk = Math.min(1000, rows - written);
    await db.transaction(async (trx) => {
      for (let i = 0; i < chunk; i++) {
        await writeToOutbox(
          trx,
          topology,
          {
            contract: TicketBookingConfirmed_v1,
            body: {
              booking_id: randomUUID(),
              ticket_id: randomUUID(),
              customer_email: "bench@example.com",
              price: { amount: "50.00", currency: "EUR" },
            },
          },
          {
            correlationId: `bench-${randomUUID()}`,
            traceparent: `00-${randomUUID().replace(/-/g, "")}-${randomUUID().slice(0, 16).replace(/-/g, "0")}-01`,
          },
        );
      }
    });
    written += chunk;
  }
}

/**
 * CPU used by this process, the NATS server and the Postgres backends serving the bench database,
 * per 1000 messages of a phase: on a small machine all three share the cores, so this is what
 * bounds the rates. The NATS server is shared, so its figure includes whatever else ran meanwhile.
 */
function cpuMeter(db: Database, databaseName: string, natsUrl: string) {
  return {
    async measure<T>(phase: () => Promise<T>): Promise<{ result: T; perThousand: string }> {
      const before = await sampleCpu(db, databaseName, { natsUrl });
      const result = await phase();
      const spent = cpuSpent(before, await sampleCpu(db, databaseName, { natsUrl }));
      const per = (ms: number) => round((ms * 1000) / rows);
      return { result, perThousand: `node ${per(spent.node)}, nats-server ${per(spent.nats)}, postgres ${per(spent.postgres)}` };
    },
  };
}

async function freshStreams(backbone: Backbone): Promise<Topology> {
  const topology = createTopology(uniqueName("bench"));
  await ensureStreams(backbone.jsm, topology, { replicas: 1, duplicateWindowMs: 10 * 60_000, maxAgeMs: 3_600_000 });
  return topology;
}

/** The raw baseline: the relay's own publish call, minus Postgres. */
async function rawPublish(backbone: Backbone, messages: StoredRow[], topology: Topology): Promise<number> {
  const started = performance.now();
  const inFlight = new Set<Promise<unknown>>();
  for (const message of messages) {
    const h = natsHeaders();
    h.set(MessageHeaders.name, message.name);
    h.set(MessageHeaders.correlationId, message.metadata.correlation_id!);
    h.set(MessageHeaders.traceparent, message.metadata.traceparent!);
    const subject = topology.subject("event", message.name);
    const publish = backbone.js
      .publish(subject, message.payload, { msgID: randomUUID(), headers: h })
      .finally(() => inFlight.delete(publish));
    inFlight.add(publish);
    if (inFlight.size >= rawWindow) await Promise.race(inFlight);
  }
  await Promise.all(inFlight);
  return rows / ((performance.now() - started) / 1000);
}

async function streamCount(backbone: Backbone, topology: Topology): Promise<number> {
  return (await backbone.jsm.streams.info(topology.streams.event)).state.messages;
}

/** Relays the pre-filled outbox with a started OutboxRelay; returns rows/s until every row is marked. */
async function relayOutbox(db: Database, backbone: Backbone, postgresUrl: string): Promise<number> {
  const relay = new OutboxRelay({ db, js: backbone.js, postgresUrl, logger: quiet, batchSize, pollMs: 500 });
  const started = performance.now();
  await relay.start();
  while (relay.publishedCount < rows) await sleep(1);
  const elapsed = performance.now() - started;
  await relay.stop();
  const marked = Number((await db("outbox").whereNotNull("published_at").count({ n: "*" }))[0]!.n);
  if (marked !== rows) throw new Error(`relay marked ${marked} rows, expected ${rows}`);
  return rows / (elapsed / 1000);
}

async function startMirror(backbone: Backbone, topology: Topology, redisUrl: string) {
  const { startRedisMirror } = await import("../lib/redis-mirror/mirror.ts");
  const redis = new Redis(redisUrl, { lazyConnect: true, enableOfflineQueue: false, maxRetriesPerRequest: 1 });
  redis.on("error", () => undefined);
  await redis.connect().catch(() => undefined);
  const mirror = await startRedisMirror({ nats: backbone.nc, redis, topology, logger: mirrorLogger });
  return {
    mirror,
    async stop() {
      await mirror.stop();
      redis.disconnect();
    },
  };
}

async function main(): Promise<void> {
  const infra = await infrastructure();
  const database = await createTestDatabase();
  const db = createDatabase(database.url);
  const nc = await connectNats(infra.natsUrl, "bench-relay");
  const backbone = await openBackbone(nc);
  const namespaces: string[] = [];
  const mirrorAvailable =
    process.env.BENCH_RELAY_MIRROR !== "0" &&
    (await import("../lib/redis-mirror/mirror.ts").then((m) => typeof m.startRedisMirror === "function").catch(() => false));
  const results: Record<string, number[]> = {
    raw: [],
    relay: [],
    mirrorCatchUp: [],
    relayWithMirror: [],
    mirrorAlongside: [],
    relayRedisDown: [],
  };
  try {
    await migrateToLatest(db);
    const cpu = cpuMeter(db, database.name, infra.natsUrl);
    console.log(`bench:relay — ${rows} rows × ${rounds} rounds, relay batch ${batchSize}, raw window ${rawWindow}; ${machine()}`);
    for (let r = 1; r <= rounds; r++) {
      await db("outbox").truncate();
      const relayTopology = await freshStreams(backbone);
      namespaces.push(relayTopology.namespace);
      await fillOutbox(db, relayTopology);
      const stored: StoredRow[] = await db("outbox").select("subject", "name", "payload", "metadata").orderBy("seq");

      const rawTopology = await freshStreams(backbone);
      namespaces.push(rawTopology.namespace);
      const { result: raw, perThousand: rawCpu } = await cpu.measure(() => rawPublish(backbone, stored, rawTopology));
      if ((await streamCount(backbone, rawTopology)) !== rows) throw new Error("raw publish lost messages");
      const { result: relay, perThousand: relayCpu } = await cpu.measure(() => relayOutbox(db, backbone, database.url));
      if ((await streamCount(backbone, relayTopology)) !== rows) throw new Error("relay stream does not hold every row once");
      results.raw!.push(raw);
      results.relay!.push(relay);
      const line: Record<string, string | number> = {
        "raw JetStream publish (msg/s)": round(raw),
        "outbox relay (rows/s)": round(relay),
        "relay / raw": round(relay / raw, 2),
        "CPU ms per 1000, raw": rawCpu,
        "CPU ms per 1000, relay": relayCpu,
      };

      if (mirrorAvailable) {
        // Catch-up: the mirror alone, over what the relay just published.
        const catchUp = await startMirror(backbone, relayTopology, infra.redisUrl);
        const mirrorStart = performance.now();
        while (catchUp.mirror.stats.mirrored < rows) await sleep(1);
        const mirrorRate = rows / ((performance.now() - mirrorStart) / 1000);
        await catchUp.stop();
        results.mirrorCatchUp!.push(mirrorRate);
        line["mirror catch-up (entries/s)"] = round(mirrorRate);

        // Steady state: relay and mirror in one process, as on a node.
        await db("outbox").truncate();
        const alongTopology = await freshStreams(backbone);
        namespaces.push(alongTopology.namespace);
        await fillOutbox(db, alongTopology);
        const along = await startMirror(backbone, alongTopology, infra.redisUrl);
        const alongStart = performance.now();
        const relayWithMirror = await relayOutbox(db, backbone, database.url);
        while (along.mirror.stats.mirrored < rows) await sleep(1);
        const mirrorAlongside = rows / ((performance.now() - alongStart) / 1000);
        await along.stop();
        results.relayWithMirror!.push(relayWithMirror);
        results.mirrorAlongside!.push(mirrorAlongside);
        line["relay with mirror running (rows/s)"] = round(relayWithMirror);
        line["mirror alongside, to the last entry (entries/s)"] = round(mirrorAlongside);

        // Redis down: the mirror retries against a closed port; the relay must not notice.
        await db("outbox").truncate();
        const downTopology = await freshStreams(backbone);
        namespaces.push(downTopology.namespace);
        await fillOutbox(db, downTopology);
        const down = await startMirror(backbone, downTopology, "redis://127.0.0.1:1");
        const relayRedisDown = await relayOutbox(db, backbone, database.url);
        await down.stop();
        results.relayRedisDown!.push(relayRedisDown);
        line["relay with mirror, Redis down (rows/s)"] = round(relayRedisDown);
      }
      report(`round ${r}`, line);
    }

    const summary: Record<string, string | number> = {
      "raw JetStream publish, median (msg/s)": round(median(results.raw!)),
      "outbox relay, median (rows/s)": round(median(results.relay!)),
      "relay / raw (median of rounds)": verdict(median(results.relay!.map((v, i) => v / results.raw![i]!)), 0.8),
    };
    if (mirrorAvailable) {
      summary["mirror catch-up, median (entries/s)"] = round(median(results.mirrorCatchUp!));
      summary["relay with mirror running, median (rows/s)"] = round(median(results.relayWithMirror!));
      summary["relay-with-mirror / raw"] = verdict(median(results.relayWithMirror!.map((v, i) => v / results.raw![i]!)), 0.8);
      summary["mirror alongside the relay, median (entries/s)"] = round(median(results.mirrorAlongside!));
      summary["relay with Redis down, median (rows/s)"] = round(median(results.relayRedisDown!));
    } else {
      summary["Redis mirror"] = "not measured (BENCH_RELAY_MIRROR=0 or lib/redis-mirror/mirror.ts absent)";
    }
    report("bench:relay summary", summary);
  } finally {
    await nc.drain().catch(() => undefined);
    await db.destroy();
    for (const namespace of namespaces) await removeNamespace(namespace).catch(() => undefined);
    await database.drop();
  }
}

await main();
