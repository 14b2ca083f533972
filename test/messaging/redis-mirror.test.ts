/**
 * The Redis Streams mirror against real NATS JetStream, Redis and Postgres. Each test has its own
 * namespace (streams, subjects and Redis keys); the Redis-outage tests run their own redis-server.
 */
import { spawn, type ChildProcess } from "node:child_process";
import { randomBytes, randomUUID } from "node:crypto";
import { setTimeout as delay } from "node:timers/promises";
import { jetstream, jetstreamManager, StorageType, type JetStreamClient } from "@nats-io/jetstream";
import { connect, headers, nanos, type NatsConnection } from "@nats-io/transport-node";
import test, { type ExecutionContext } from "ava";
import { Redis } from "ioredis";
import pg from "pg";
import { pgAdvisoryLeadership, startRedisMirror, type RedisMirror, type RedisMirrorOptions } from "../../lib/redis-mirror/mirror.ts";
import type { Logger } from "../../lib/observability/logger.ts";
import { createTopology, type MessageKind, type Topology } from "../../lib/messaging/topology.ts";
import { decodeWatermillEntry, type DecodedWatermillMessage } from "../../lib/redis-mirror/watermill.ts";
import { infrastructure } from "../support/infrastructure.ts";
import { freePort } from "../support/system.ts";

const { natsUrl: NATS_URL, redisUrl: REDIS_URL, postgresUrl: POSTGRES_URL } = await infrastructure();

interface Published {
  kind: MessageKind;
  name: string;
  uuid: string;
  payload: string;
  seq: number;
  correlationId: string;
  traceparent: string;
  tracestate?: string;
}

interface Env {
  topology: Topology;
  nc: NatsConnection;
  js: JetStreamClient;
  /** Connection to the shared Redis for assertions and cleanup. */
  redis: Redis;
  logs: { level: string; msg: string; obj: object }[];
  logger: Logger;
  mirrors: RedisMirror[];
  published: Published[];
}

function testLogger(logs: Env["logs"]): Logger {
  const at = (level: string) => (obj: object, msg: string) => void logs.push({ level, msg, obj });
  return { info: at("info"), warn: at("warn"), error: at("error"), debug: at("debug") };
}

async function setup(t: ExecutionContext, duplicateWindowMs = 120_000): Promise<Env> {
  const topology = createTopology(`t${randomBytes(5).toString("hex")}`);
  const nc = await connect({ servers: NATS_URL });
  const jsm = await jetstreamManager(nc);
  for (const kind of ["event", "command"] as const) {
    await jsm.streams.add({
      name: topology.streams[kind],
      subjects: [topology.streamSubjects(kind)],
      storage: StorageType.File,
      duplicate_window: nanos(duplicateWindowMs),
    });
  }
  const redis = new Redis(REDIS_URL, { maxRetriesPerRequest: 1 });
  const logs: Env["logs"] = [];
  const env: Env = { topology, nc, js: jetstream(nc), redis, logs, logger: testLogger(logs), mirrors: [], published: [] };
  t.teardown(async () => {
    await Promise.all(env.mirrors.map((mirror) => mirror.stop()));
    for (const stream of Object.values(topology.streams)) await jsm.streams.delete(stream).catch(() => {});
    let cursor = "0";
    do {
      const [next, keys] = await redis.scan(cursor, "MATCH", `${topology.namespace}.*`, "COUNT", 1000);
      if (keys.length > 0) await redis.del(...keys);
      cursor = next;
    } while (cursor !== "0");
    redis.disconnect();
    await nc.close();
    const problems = logs.filter((entry) => entry.level === "error" || entry.level === "warn");
    if (problems.length > 0) t.log("mirror warnings/errors:", problems.slice(0, 5));
  });
  return env;
}

async function mirror(env: Env, options: Partial<RedisMirrorOptions> = {}): Promise<RedisMirror> {
  const own = options.redis ? null : new Redis(REDIS_URL, { lazyConnect: true, enableOfflineQueue: false, maxRetriesPerRequest: 1 });
  const started = await startRedisMirror({
    nats: env.nc,
    redis: own ?? options.redis!,
    topology: env.topology,
    logger: env.logger,
    ...options,
  });
  env.mirrors.push({
    ...started,
    stop: async () => {
      await started.stop();
      own?.disconnect();
    },
  });
  return started;
}

/** Publishes one message the way the relay does (payload JSON, headers, Nats-Msg-Id). */
async function publish(
  env: Env,
  kind: MessageKind,
  name: string,
  extra: { uuid?: string; tracestate?: string } = {},
): Promise<Published & { duplicate: boolean }> {
  const uuid = extra.uuid ?? randomUUID();
  const payload = JSON.stringify({
    header: { id: randomUUID(), published_at: new Date().toISOString(), idempotency_key: randomUUID() },
    booking_id: randomUUID(),
    n: env.published.length,
  });
  const correlationId = `gen_${randomBytes(6).toString("hex")}`;
  const traceparent = `00-${randomBytes(16).toString("hex")}-${randomBytes(8).toString("hex")}-01`;
  const h = headers();
  h.set("Tickets-Message-Name", name);
  h.set("Correlation-ID", correlationId);
  h.set("traceparent", traceparent);
  if (extra.tracestate) h.set("tracestate", extra.tracestate);
  const ack = await env.js.publish(env.topology.subject(kind, name), payload, { msgID: uuid, headers: h });
  const message: Published = { kind, name, uuid, payload, seq: ack.seq, correlationId, traceparent, ...extra };
  if (!ack.duplicate) env.published.push(message);
  return { ...message, duplicate: ack.duplicate };
}

const EVENT_NAMES = ["BookingMade_v1", "TicketBookingConfirmed_v1", "TicketPrinted_v1"];

async function publishMany(env: Env, count: number): Promise<void> {
  for (let i = 0; i < count; i++) {
    if (i % 5 === 4) await publish(env, "command", "RefundTicket");
    else await publish(env, "event", EVENT_NAMES[i % EVENT_NAMES.length]!);
  }
}

async function readStream(redis: Redis, key: string): Promise<DecodedWatermillMessage[]> {
  const entries = await redis.xrangeBuffer(key, "-", "+");
  return entries.map(([, fields]) => {
    if (fields.length !== 6) throw new Error(`entry of ${key} has ${fields.length / 2} fields`);
    return decodeWatermillEntry(fields);
  });
}

async function waitFor(what: string, condition: () => Promise<boolean>, timeoutMs = 20_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await condition())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await delay(25);
  }
}

const streamLength = (redis: Redis, key: string) => redis.xlen(key).catch(() => -1);

/** A batch is in Redis before its mirror has read the replies: wait for the mirrors' own counts before asserting them. */
async function waitCounted(mirrors: RedisMirror[], count: number): Promise<void> {
  const counted = () => mirrors.reduce((sum, m) => sum + m.stats.mirrored + m.stats.skipped, 0);
  await waitFor(`the mirrors to count ${count} messages`, async () => counted() >= count);
}

async function waitMirrored(env: Env, redis: Redis = env.redis, timeoutMs?: number): Promise<void> {
  const events = env.published.filter((m) => m.kind === "event").length;
  const commands = env.published.filter((m) => m.kind === "command").length;
  const eventsKey = env.topology.redisStreams("event", "x")[0]!;
  const commandsKey = env.topology.redisStreams("command", "RefundTicket")[0]!;
  await waitFor(
    `${events} events and ${commands} commands in Redis`,
    async () =>
      (await streamLength(redis, eventsKey)) >= events && (commands === 0 || (await streamLength(redis, commandsKey)) >= commands),
    timeoutMs,
  );
}

/** Every Redis stream holds exactly the published messages of its key, once each, in publish order. */
async function assertExactlyOnceInOrder(t: ExecutionContext, env: Env, redis: Redis = env.redis): Promise<void> {
  const expected = new Map<string, Published[]>();
  for (const message of env.published) {
    for (const key of env.topology.redisStreams(message.kind, message.name)) {
      expected.set(key, [...(expected.get(key) ?? []), message]);
    }
  }
  for (const [key, messages] of expected) {
    const entries = await readStream(redis, key);
    t.deepEqual(
      entries.map((entry) => entry.uuid),
      messages.map((message) => message.uuid),
      `stream ${key}`,
    );
    entries.forEach((entry, i) => {
      const message = messages[i]!;
      const metadata: Record<string, string> = {
        name: message.name,
        correlation_id: message.correlationId,
        traceparent: message.traceparent,
      };
      if (message.tracestate) metadata.tracestate = message.tracestate;
      if (entry.payload.toString("utf8") !== message.payload) t.fail(`payload of ${message.uuid} in ${key}`);
      t.deepEqual(entry.metadata, metadata);
    });
  }
}

test.serial("mirrors events and commands once each, in order, in the Watermill format", async (t) => {
  const env = await setup(t);
  await publishMany(env, 120);
  await publish(env, "event", "TicketPrinted_v1", { tracestate: "vendor=abc" });
  const m = await mirror(env, { batchSize: 32 });
  await waitMirrored(env);
  await publishMany(env, 40); // live tail after catching up
  await waitMirrored(env);
  await assertExactlyOnceInOrder(t, env);
  await waitCounted([m], env.published.length);
  t.is(m.stats.mirrored, env.published.length);
  t.is(m.stats.errors, 0);

  const lag = await m.lag();
  t.deepEqual(
    lag.map((entry) => entry.stream),
    [env.topology.streams.event, env.topology.streams.command],
  );
  for (const entry of lag) t.is(entry.mirroredSeq, entry.lastSeq);
});

/** The mirror's own keys in Redis (cursors and dedupe markers), with their TTLs. */
async function internalKeys(env: Env): Promise<{ key: string; ttl: number }[]> {
  const keys = await env.redis.keys(`${env.topology.redisInternalPrefix}*`);
  return Promise.all(keys.map(async (key) => ({ key, ttl: await env.redis.ttl(key) })));
}

test.serial("dedupe markers do not grow a key per message: one hash per stream and window, expiring", async (t) => {
  const env = await setup(t);
  await publishMany(env, 300);
  await mirror(env, { batchSize: 64, dedupeWindowMs: 3_600_000 });
  await waitMirrored(env);
  const keys = await internalKeys(env);
  const cursors = keys.filter(({ key }) => key.endsWith(":last_seq"));
  const markers = keys.filter(({ key }) => !key.endsWith(":last_seq"));
  t.is(cursors.length, 2);
  t.true(markers.length >= 2 && markers.length <= 4, `${markers.length} marker keys for 300 messages`);
  for (const { key, ttl } of markers) t.true(ttl > 0 && ttl <= 7_200, `${key} expires (ttl ${ttl})`);
});

test.serial("entries older than the max age are trimmed by time (MINID), recent ones kept", async (t) => {
  const env = await setup(t);
  const eventsKey = env.topology.redisStreams("event", "x")[0]!;
  const cursorKey = `${env.topology.redisInternalPrefix}mirror:${env.topology.streams.event}:last_seq`;
  // an entry written long ago (its id is its time), before a mirror that had mirrored nothing yet
  await env.redis.xadd(eventsKey, "1000-0", "payload", "old");
  await env.redis.set(cursorKey, "0");
  await publishMany(env, 20);
  await mirror(env, { maxAgeMs: 60_000 });
  await waitFor("the events mirrored", async () => (await env.redis.get(cursorKey)) === "16");
  // the commands' stream is followed on its own and may come later
  const commandsCursorKey = `${env.topology.redisInternalPrefix}mirror:${env.topology.streams.command}:last_seq`;
  await waitFor("the commands mirrored", async () => (await env.redis.get(commandsCursorKey)) === "4");
  const ids = (await env.redis.xrange(eventsKey, "-", "+")).map(([id]) => id);
  t.false(ids.includes("1000-0"), "the old entry was trimmed");
  t.is(ids.length, 16);
  await assertExactlyOnceInOrder(t, env);
});

test.serial("re-mirror: deleting the cursor and the Redis streams writes the retained history again, once", async (t) => {
  const env = await setup(t);
  await publishMany(env, 60);
  const first = await mirror(env);
  await waitMirrored(env);
  await first.stop();
  const streams = await env.redis.keys(`${env.topology.namespace}.*`);
  const mirrored = streams.filter((key) => !key.startsWith(env.topology.redisInternalPrefix));
  const cursors = streams.filter((key) => key.endsWith(":last_seq"));
  t.is(cursors.length, 2);
  await env.redis.del(...mirrored, ...cursors);

  const second = await mirror(env);
  await waitMirrored(env);
  await delay(100);
  await assertExactlyOnceInOrder(t, env);
  await waitCounted([second], env.published.length);
  t.is(second.stats.mirrored, env.published.length);
});

test.serial("a mirror with no cursor and an empty Redis writes only what JetStream holds within the max age, once", async (t) => {
  const env = await setup(t);
  const maxAgeMs = 4_000;
  await publishMany(env, 10);
  const older = env.published.splice(0);
  await delay(maxAgeMs + 1_000);
  await publishMany(env, 10);
  // a first start, or a Redis that lost everything: the older messages are past what the trim keeps
  const fresh = await mirror(env, { maxAgeMs });
  await waitMirrored(env);
  await delay(100);
  await assertExactlyOnceInOrder(t, env);
  const eventsKey = env.topology.redisStreams("event", "x")[0]!;
  const uuids = (await readStream(env.redis, eventsKey)).map((m) => m.uuid);
  t.false(
    older.some((m) => uuids.includes(m.uuid)),
    "no message older than the max age was written",
  );
  t.is(fresh.stats.mirrored, env.published.length);
});

test.serial("MAXLEN ~ is applied only when a cap is configured", async (t) => {
  const env = await setup(t);
  for (let i = 0; i < 300; i++) await publish(env, "event", "TicketPrinted_v1");
  await mirror(env, { maxLen: 50, dedupeWindowMs: 30_000 });
  const key = env.topology.redisStreams("event", "TicketPrinted_v1")[1]!;
  const cursorKey = `${env.topology.redisInternalPrefix}mirror:${env.topology.streams.event}:last_seq`;
  await waitFor("cursor at the last message", async () => (await env.redis.get(cursorKey)) === "300");
  const length = await env.redis.xlen(key);
  t.true(length >= 50 && length < 300, `length ${length}`);
  for (const { ttl } of await internalKeys(env)) t.true(ttl === -1 || (ttl > 0 && ttl <= 60), "markers expire after two windows");
});

test.serial("stopping and restarting mid-way neither doubles nor drops an entry", async (t) => {
  const env = await setup(t);
  await publishMany(env, 1500);
  const first = await mirror(env, { batchSize: 8 });
  await waitFor("some progress", async () => first.stats.mirrored >= 200);
  await first.stop();
  const partial = await env.redis.xlen(env.topology.redisStreams("event", "x")[0]!);
  t.log(`stopped after ${first.stats.mirrored} entries`);
  t.true(partial < 1200, "stopped mid-way");

  const second = await mirror(env, { batchSize: 64 });
  await waitMirrored(env);
  await assertExactlyOnceInOrder(t, env);
  await waitCounted([first, second], env.published.length);
  t.is(first.stats.mirrored + second.stats.mirrored, env.published.length);
});

test.serial("two mirrors running at once still write every entry once", async (t) => {
  const env = await setup(t);
  await publishMany(env, 600);
  const a = await mirror(env, { batchSize: 16 });
  const b = await mirror(env, { batchSize: 50 });
  await waitMirrored(env);
  await publishMany(env, 100);
  await waitMirrored(env);
  await delay(200);
  await assertExactlyOnceInOrder(t, env);
  await waitCounted([a, b], env.published.length);
  t.is(a.stats.mirrored + b.stats.mirrored, env.published.length);
});

test.serial("a JetStream duplicate stored after the dedupe window is not written twice", async (t) => {
  const env = await setup(t, 500);
  const m = await mirror(env);
  const original = await publish(env, "event", "BookingMade_v1");
  await waitMirrored(env);
  await delay(700); // past JetStream's duplicate window
  const again = await publish(env, "event", "BookingMade_v1", { uuid: original.uuid });
  t.false(again.duplicate, "JetStream stored the redelivered message again");
  t.true(again.seq > original.seq);
  env.published.pop(); // the mirror must not show it
  await publish(env, "event", "BookingMade_v1");
  await waitMirrored(env);
  await delay(100);
  await assertExactlyOnceInOrder(t, env);
  t.is(m.stats.skipped, 1);
  const cursorKey = `${env.topology.redisInternalPrefix}mirror:${env.topology.streams.event}:last_seq`;
  t.is(await env.redis.get(cursorKey), "3");
});

test.serial("a message without id is skipped (logged), the ones behind it are mirrored", async (t) => {
  const env = await setup(t);
  await publish(env, "event", "BookingMade_v1");
  const h = headers();
  h.set("Tickets-Message-Name", "BookingMade_v1");
  await env.js.publish(env.topology.subject("event", "BookingMade_v1"), "{}", { headers: h });
  // No name header: the name comes from the subject.
  const ack = await env.js.publish(env.topology.subject("command", "RefundTicket"), '{"x":1}', { msgID: randomUUID() });
  await publish(env, "event", "BookingMade_v1");
  const m = await mirror(env);
  await waitMirrored(env);
  await waitFor("command", async () => (await env.redis.xlen(env.topology.redisStreams("command", "RefundTicket")[0]!)) === 1);
  await assertExactlyOnceInOrder(t, env);
  const [command] = await readStream(env.redis, env.topology.redisStreams("command", "RefundTicket")[0]!);
  t.deepEqual(command!.metadata, { name: "RefundTicket" });
  t.is(ack.seq, 1);
  t.is(m.stats.skipped, 1);
  t.true(env.logs.some((entry) => entry.level === "error" && /without id/.test(entry.msg)));
});

test.serial("a missing cursor with existing streams waits for the operator; SET cursor resumes", async (t) => {
  const env = await setup(t);
  await publishMany(env, 20);
  const first = await mirror(env, { backoff: { maxMs: 200 } });
  await waitMirrored(env);
  await first.stop();
  const cursorKey = `${env.topology.redisInternalPrefix}mirror:${env.topology.streams.event}:last_seq`;
  const lastSeq = await env.redis.get(cursorKey);
  await env.redis.del(cursorKey);
  await publishMany(env, 10);

  const second = await mirror(env, { backoff: { maxMs: 200 } });
  await waitFor("the refusal", async () => env.logs.some((entry) => entry.level === "error" && /is missing/.test(entry.msg)));
  const eventsKey = env.topology.redisStreams("event", "x")[0]!;
  const [events] = (await second.lag()).filter((entry) => entry.stream === env.topology.streams.event);
  t.is(events!.mirroredSeq, 0);
  t.is(await env.redis.xlen(eventsKey), 16, "nothing written without a cursor");

  await env.redis.set(cursorKey, lastSeq!);
  await waitMirrored(env);
  await assertExactlyOnceInOrder(t, env);
});

test.serial("a Redis emptied under a running mirror is re-filled from JetStream, not from the middle", async (t) => {
  const env = await setup(t);
  await publishMany(env, 50);
  await mirror(env);
  await waitMirrored(env);
  const keys = await env.redis.keys(`${env.topology.namespace}.*`);
  await env.redis.del(...keys); // as after a restart without persistence
  await publishMany(env, 10);
  await waitMirrored(env);
  await delay(100);
  await assertExactlyOnceInOrder(t, env);
});

// ---------------------------------------------------------------------------------------------
// Redis outages, on a private redis-server.

interface PrivateRedis {
  port: number;
  start(): Promise<void>;
  kill(): Promise<void>;
  pause(): void;
  resume(): void;
}

async function privateRedis(t: ExecutionContext): Promise<PrivateRedis> {
  const port = await freePort();
  let child: ChildProcess | null = null;
  const stopped = () => child === null || child.exitCode !== null || child.signalCode !== null;
  const self: PrivateRedis = {
    port,
    async start() {
      const proc = spawn(
        "redis-server",
        ["--port", String(port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no", "--daemonize", "no"],
        { stdio: "ignore" },
      );
      child = proc;
      const probe = new Redis({ port, lazyConnect: true, maxRetriesPerRequest: 0, retryStrategy: () => null });
      probe.on("error", () => {});
      await waitFor(
        `redis-server on ${port}`,
        async () => {
          if (proc.exitCode !== null) throw new Error(`redis-server exited with ${proc.exitCode}`);
          return probe
            .connect()
            .then(() => probe.ping())
            .then(() => true)
            .catch(() => false);
        },
        10_000,
      );
      probe.disconnect();
    },
    async kill() {
      const proc = child;
      if (!proc || stopped()) return;
      proc.kill("SIGCONT");
      const exited = new Promise((resolve) => proc.once("exit", resolve));
      proc.kill("SIGKILL");
      await exited;
    },
    pause: () => void child?.kill("SIGSTOP"),
    resume: () => void child?.kill("SIGCONT"),
  };
  t.teardown(() => self.kill());
  await self.start();
  return self;
}

function privateClient(port: number, extra: Record<string, unknown> = {}): Redis {
  const client = new Redis({
    port,
    lazyConnect: true,
    enableOfflineQueue: false,
    maxRetriesPerRequest: 1,
    retryStrategy: () => 100,
    ...extra,
  });
  client.on("error", () => {});
  return client;
}

/** Publishes `count` messages one after another and returns the ack latencies in ms. */
async function timedPublishes(env: Env, count: number): Promise<number[]> {
  const latencies: number[] = [];
  for (let i = 0; i < count; i++) {
    const started = performance.now();
    await publish(env, i % 4 === 3 ? "command" : "event", i % 4 === 3 ? "RefundTicket" : EVENT_NAMES[i % 3]!);
    latencies.push(performance.now() - started);
  }
  return latencies;
}

const summary = (latencies: number[]) => {
  const sorted = [...latencies].sort((a, b) => a - b);
  const at = (q: number) => sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))]!.toFixed(2);
  return `n=${sorted.length} p50=${at(0.5)}ms p99=${at(0.99)}ms max=${at(1)}ms`;
};

test.serial("Redis killed: publishing is not delayed; an empty restarted Redis gets the whole retained history once", async (t) => {
  const env = await setup(t);
  const server = await privateRedis(t);
  const mirrorRedis = privateClient(server.port);
  const check = privateClient(server.port, { enableOfflineQueue: true, retryStrategy: () => 50 });
  t.teardown(() => {
    mirrorRedis.disconnect();
    check.disconnect();
  });
  const m = await mirror(env, { redis: mirrorRedis, backoff: { initialMs: 50, maxMs: 500 } });
  const before = await timedPublishes(env, 100);
  await waitMirrored(env, check);

  await server.kill();
  const during = await timedPublishes(env, 400);
  t.log(`publish acks with Redis up:   ${summary(before)}`);
  t.log(`publish acks with Redis down: ${summary(during)}`);
  t.is(during.length, 400);
  t.true(Math.max(...during) < 1000, "no publish waited on the mirror");
  await delay(600);
  t.true(m.stats.errors > 0, "the mirror saw Redis fail");

  await server.start(); // empty: no cursor, no streams
  await waitMirrored(env, check);
  await delay(200);
  await assertExactlyOnceInOrder(t, env, check);
  t.log(`errors while down: ${m.stats.errors}`);
});

test.serial("Redis hung (SIGSTOP) with data intact: timed-out writes that still land are not doubled", async (t) => {
  const env = await setup(t);
  const server = await privateRedis(t);
  const mirrorRedis = privateClient(server.port, { commandTimeout: 200 });
  const check = privateClient(server.port, { enableOfflineQueue: true });
  t.teardown(() => {
    server.resume();
    mirrorRedis.disconnect();
    check.disconnect();
  });
  const m = await mirror(env, { redis: mirrorRedis, batchSize: 16, backoff: { initialMs: 50, maxMs: 400 } });
  await timedPublishes(env, 100);
  await waitMirrored(env, check);

  server.pause();
  const during = await timedPublishes(env, 300);
  t.log(`publish acks with Redis hung: ${summary(during)}`);
  t.true(Math.max(...during) < 1000, "no publish waited on the mirror");
  await delay(1_000);
  t.true(m.stats.errors > 0, "the mirror saw timeouts");
  server.resume();

  await waitMirrored(env, check);
  await publishMany(env, 20);
  await waitMirrored(env, check);
  await delay(200);
  await assertExactlyOnceInOrder(t, env, check);
  t.log(`errors while hung: ${m.stats.errors}, mirrored by this mirror: ${m.stats.mirrored}`);
});

// ---------------------------------------------------------------------------------------------

test.serial("Postgres advisory leadership: one mirror works, the other takes over when it stops", async (t) => {
  const env = await setup(t);
  const key = 1_000_000 + Math.floor(Math.random() * 1_000_000_000);
  const leaderA = pgAdvisoryLeadership({ connectionString: POSTGRES_URL, key, retryMs: 100 });
  const leaderB = pgAdvisoryLeadership({ connectionString: POSTGRES_URL, key, retryMs: 100 });
  const a = await mirror(env, { leadership: leaderA });
  await waitFor("A leads", async () => env.logs.some((entry) => entry.msg === "redis mirror: leading"));
  const b = await mirror(env, { leadership: leaderB });
  await publishMany(env, 100);
  await waitMirrored(env);
  await delay(300);
  await waitCounted([a, b], env.published.length);
  t.is(a.stats.mirrored, env.published.length);
  t.is(b.stats.mirrored + b.stats.skipped, 0, "the follower did no work");

  await a.stop();
  await publishMany(env, 50);
  await waitMirrored(env);
  await waitCounted([b], 50);
  t.is(b.stats.mirrored, 50);

  // The leader's connection drops: it loses the lock and takes it again.
  const admin = new pg.Client({ connectionString: POSTGRES_URL });
  await admin.connect();
  t.teardown(() => admin.end());
  const { rowCount } = await admin.query(
    "SELECT pg_terminate_backend(pid) FROM pg_locks WHERE locktype = 'advisory' AND objid = $1 AND granted",
    [key],
  );
  t.is(rowCount, 1);
  await waitFor("leadership lost", async () => env.logs.some((entry) => /leadership lost/.test(entry.msg)));
  await publishMany(env, 20);
  await waitMirrored(env);
  await delay(100);
  await assertExactlyOnceInOrder(t, env);
});

test.serial("throughput: catching up a backlog with pipelined script calls", async (t) => {
  const env = await setup(t);
  const count = 10_000;
  const pending: Promise<unknown>[] = [];
  for (let i = 0; i < count; i++) {
    const name = EVENT_NAMES[i % 3]!;
    const h = headers();
    h.set("Tickets-Message-Name", name);
    h.set("Correlation-ID", "gen_bench");
    h.set("traceparent", "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01");
    pending.push(env.js.publish(env.topology.subject("event", name), `{"n":${i}}`, { msgID: randomUUID(), headers: h }));
    if (pending.length >= 500) await Promise.all(pending.splice(0));
  }
  await Promise.all(pending);
  const started = performance.now();
  const m = await mirror(env, { batchSize: 256 });
  const eventsKey = env.topology.redisStreams("event", "x")[0]!;
  await waitFor("backlog mirrored", async () => (await env.redis.xlen(eventsKey)) >= count, 60_000);
  await waitCounted([m], count);
  const seconds = (performance.now() - started) / 1000;
  t.log(`${count} messages (${count * 2} XADDs) in ${seconds.toFixed(2)} s = ${Math.round(count / seconds)} messages/s`);
  t.is(m.stats.mirrored, count);
  t.is(m.stats.skipped, 0);
  t.is(await env.redis.xlen(eventsKey), count);
});
