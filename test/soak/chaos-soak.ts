/**
 * The chaos soak (`npm run soak`, minutes long, not part of `npm test`): steady booking and
 * confirmation traffic across two nodes on private servers, with every fault below injected once,
 * in a random order at random times: a slow partner, a partner outage, a Postgres crash-restart, a
 * NATS restart, a Redis flush and restart. Retries run with the production defaults, so a partner
 * outage meets the real retry budget. At the end the fault suite's checker reports lost messages,
 * duplicate effects at the gateway and dead letters; table sizes and Redis memory are sampled
 * throughout, and once more after a housekeeping pass with every retention elapsed.
 *
 *   SOAK_MINUTES (default 8), SOAK_OUTAGE_MS (partner outage, default 120 000), SOAK_SEED (random order),
 *   SOAK_REDIS_MAX_AGE_MS (the mirror's time trim, REDIS_MIRROR_MAX_AGE_MS; default 24 h as in
 *   production, longer than any soak: set it to minutes to see Redis memory level off)
 */
import { jetstreamManager } from "@nats-io/jetstream";
import { Redis } from "ioredis";
import { startHousekeeping } from "../../lib/housekeeping/housekeeping.ts";
import { silentLogger } from "../../lib/observability/logger.ts";
import { waitForConsistency } from "../faults/support/checker.ts";
import { API_NODE_SERVICES, type FaultSystem, startFaultSystem } from "../faults/support/fault-system.ts";
import { createShow, Traffic } from "../faults/support/traffic.ts";

const minutes = Number(process.env.SOAK_MINUTES ?? 8);
const outageMs = Number(process.env.SOAK_OUTAGE_MS ?? 120_000);
const redisMaxAgeMs = process.env.SOAK_REDIS_MAX_AGE_MS ? Number(process.env.SOAK_REDIS_MAX_AGE_MS) : undefined;
let seed = Number(process.env.SOAK_SEED ?? Date.now() % 100_000);
const initialSeed = seed;
/** A small deterministic generator, so a run can be repeated with its seed. */
const random = () => {
  seed = (seed * 16_807) % 2_147_483_647;
  return seed / 2_147_483_647;
};
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));
const log = (message: string, details: object = {}) => console.log(JSON.stringify({ at: new Date().toISOString(), message, ...details }));

/**
 * The retry, timeout and circuit-breaker policy a production node runs with (config defaults), instead
 * of the fault tests' fast one: with the fault tests' 2 s gateway timeout, the slow partner (1.5 s) on a
 * loaded machine timed Dead Nation calls out, and each such booking is parked in doubt, by design.
 */
const productionTimings = {
  CONSUMER_BACKOFF_MS: "400,800,1000",
  CONSUMER_BACKOFF_MAX_MS: "30000",
  CONSUMER_RETRY_BUDGET_MS: "900000",
  CONSUMER_ACK_WAIT_MS: "30000",
  GATEWAY_TIMEOUT_MS: "5000",
  GATEWAY_SETTLE_MS: "15000",
  GATEWAY_BREAKER_COOLDOWN_MS: "1000",
  GATEWAY_BREAKER_MAX_COOLDOWN_MS: "30000",
  HOUSEKEEPING_INTERVAL_MS: "10000",
};

interface Fault {
  name: string;
  inject(sys: FaultSystem): Promise<void>;
}

let postgresCrash: { from: Date; to: Date } | undefined;
let partnerCallsWhileDown: { total: number; perMinuteByEndpoint: Record<string, number> } | undefined;
const round2 = (value: number) => Math.round(value * 100) / 100;

const faults: Fault[] = [
  {
    name: "slow partner (1.5 s per call for 60 s)",
    async inject(sys) {
      sys.sim.setLatency(1_500);
      await sleep(60_000);
      sys.sim.setLatency(0);
    },
  },
  {
    name: `partner outage (every call 503 for ${outageMs / 1000} s)`,
    async inject(sys) {
      sys.proxy.refusedCalls.clear();
      sys.proxy.refuseCallsMentioning("", 503);
      await sleep(outageMs);
      sys.proxy.allowAll();
      const byEndpoint = new Map<string, number>();
      for (const [path, calls] of sys.proxy.refusedCalls) {
        const endpoint = path.replace(/[0-9a-f]{8}-[0-9a-f-]{27}[^/]*/g, ":id");
        byEndpoint.set(endpoint, (byEndpoint.get(endpoint) ?? 0) + calls);
      }
      const perMinute = Object.fromEntries([...byEndpoint].map(([endpoint, calls]) => [endpoint, round2((calls * 60_000) / outageMs)]));
      partnerCallsWhileDown = { total: [...byEndpoint.values()].reduce((a, b) => a + b, 0), perMinuteByEndpoint: perMinute };
    },
  },
  {
    name: "Postgres crash-restart",
    async inject(sys) {
      const from = new Date();
      await sys.postgres.restartImmediate();
      postgresCrash = { from, to: new Date() };
    },
  },
  {
    name: "NATS restart (down 5 s)",
    async inject(sys) {
      await sys.nats!.stop("SIGTERM");
      await sleep(5_000);
      await sys.nats!.start();
    },
  },
  {
    name: "Redis flush and restart",
    async inject(sys) {
      const redis = new Redis(sys.redis.url, { maxRetriesPerRequest: 1 });
      await redis.flushall();
      redis.disconnect();
      await sys.redis.stop();
      await sleep(2_000);
      await sys.redis.start();
    },
  },
];

const TABLES = ["outbox", "idempotency_keys", "processed_messages", "handler_attempts", "dead_letters", "events"];

async function sizes(sys: FaultSystem): Promise<Record<string, number | string>> {
  const counts: Record<string, number | string> = {};
  for (const table of TABLES) {
    counts[table] = await sys
      .db(table)
      .count({ n: "*" })
      .then(
        (rows) => Number(rows[0]!.n),
        () => "n/a",
      );
  }
  const redis = new Redis(sys.redis.url, { maxRetriesPerRequest: 1, lazyConnect: true, enableOfflineQueue: false });
  try {
    await redis.connect();
    const memory = await redis.info("memory");
    counts.redis_used_memory = Number(/used_memory:(\d+)/.exec(memory)?.[1] ?? 0);
    counts.redis_keys = await redis.dbsize();
  } catch {
    counts.redis_used_memory = "down";
  } finally {
    redis.disconnect();
  }
  return counts;
}

/** Where every durable stands: messages not yet delivered, delivered but unacknowledged, redelivered. */
async function consumerStates(sys: FaultSystem) {
  const jsm = await jetstreamManager(await sys.natsConnection());
  const states = [];
  for (const stream of Object.values(sys.topology.streams)) {
    for await (const info of jsm.consumers.list(stream)) {
      const { name, num_pending, num_ack_pending, num_redelivered, delivered, ack_floor } = info;
      states.push({
        stream,
        name,
        num_pending,
        num_ack_pending,
        num_redelivered,
        delivered: delivered.stream_seq,
        ack_floor: ack_floor.stream_seq,
      });
    }
  }
  return states;
}

function shuffled<T>(items: T[]): T[] {
  const copy = [...items];
  for (let i = copy.length - 1; i > 0; i--) {
    const j = Math.floor(random() * (i + 1));
    [copy[i], copy[j]] = [copy[j]!, copy[i]!];
  }
  return copy;
}

async function main(): Promise<number> {
  const started = Date.now();
  const redisTrim: Record<string, string> = redisMaxAgeMs ? { REDIS_MIRROR_MAX_AGE_MS: String(redisMaxAgeMs) } : {};
  const sys = await startFaultSystem({ env: { ...productionTimings, ...redisTrim } });
  const samples: Record<string, number | string>[] = [];
  let sampling: NodeJS.Timeout | undefined;
  try {
    await sys.startNode("api-1", API_NODE_SERVICES);
    await sys.startNode("worker-1", ["tickets", "bookings", "datalake"]);
    const showId = await createShow(sys.apiUrl, 1_000_000);
    const traffic = new Traffic({ apiUrl: sys.apiUrl, ticketRequestsPerSecond: 4, bookingsPerSecond: 2, showId }).start();
    sampling = setInterval(() => void sizes(sys).then((s) => samples.push({ t: Math.round((Date.now() - started) / 1000), ...s })), 30_000);

    // each fault once, at a random time inside its own slot of the run
    const order = shuffled(faults);
    const slotMs = (minutes * 60_000) / order.length;
    const injected: { fault: string; at: number; seconds: number }[] = [];
    for (const [i, fault] of order.entries()) {
      const slotStart = started + i * slotMs;
      await sleep(Math.max(0, slotStart + random() * slotMs * 0.3 - Date.now()));
      const at = Date.now();
      log("fault", { fault: fault.name });
      await fault.inject(sys);
      injected.push({ fault: fault.name, at: Math.round((at - started) / 1000), seconds: Math.round((Date.now() - at) / 1000) });
      log("recovered", { fault: fault.name });
    }
    await sleep(Math.max(0, started + minutes * 60_000 - Date.now()));
    await traffic.stop();
    clearInterval(sampling);
    log("traffic stopped; checking");

    const report = await waitForConsistency(
      {
        postgresCrash,
        db: sys.db,
        nats: await sys.natsConnection(),
        redisUrl: sys.redis.url,
        topology: sys.topology,
        sim: sys.sim,
        accepted: { tickets: traffic.acceptedTickets, bookings: traffic.acceptedBookings },
        redisRetentionMs: redisMaxAgeMs,
      },
      { timeoutMs: 300_000, settleMs: 5_000 },
    );
    const beforeHousekeeping = await sizes(sys);
    // every retention elapsed: what months of the same traffic leave behind
    const housekeeping = startHousekeeping({
      db: sys.db,
      logger: silentLogger,
      outboxRetentionMs: 1,
      idempotency: { explicitMs: 1, implicitMs: 1 },
      inboxRetentionMs: 1,
      batchSize: 10_000,
      intervalMs: 3_600_000,
    });
    const removed = await housekeeping.runOnce();
    await housekeeping.stop();
    const afterHousekeeping = await sizes(sys);

    console.log(
      JSON.stringify(
        {
          seed: initialSeed,
          runSeconds: Math.round((Date.now() - started) / 1000),
          faults: injected,
          accepted: { tickets: traffic.acceptedTickets.size, bookings: traffic.acceptedBookings.size },
          clientFailures: traffic.failed,
          finalStatuses: Object.fromEntries(traffic.finalStatuses),
          attempts: Object.fromEntries(traffic.attempts),
          partnerCallsWhileDown,
          counts: report.counts,
          problems: report.problems,
          samples,
          beforeHousekeeping,
          removedByHousekeeping: removed,
          afterHousekeeping,
        },
        null,
        2,
      ),
    );
    const clean = report.problems.length === 0 && report.counts.deadLetters === 0 && traffic.failed === 0;
    if (!clean) {
      console.log(sys.diagnostics().slice(-60).join("\n"));
      console.log(JSON.stringify({ consumers: await consumerStates(sys) }, null, 2));
    }
    log(clean ? "soak passed" : "soak FOUND PROBLEMS", { problems: report.problems.length, deadLetters: report.counts.deadLetters });
    return clean ? 0 : 1;
  } finally {
    clearInterval(sampling);
    await sys.stop();
  }
}

process.exitCode = await main();
