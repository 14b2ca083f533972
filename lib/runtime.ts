import type { ServiceBroker } from "moleculer";
import { Redis } from "ioredis";
import type { Config } from "../config/index.ts";
import { createDatabase, type Database, sessionLimitsOf } from "./database/db.ts";
import { createLimiter, type Limiter } from "./limiter.ts";
import { errorMessage } from "./errors.ts";
import { connectNats, ensureStreams, openBackbone, type Backbone } from "./messaging/jetstream.ts";
import type { Logger } from "./observability/logger.ts";
import { startHousekeeping, type Housekeeping } from "./housekeeping/housekeeping.ts";
import { OutboxRelay } from "./messaging/relay.ts";
import { pgAdvisoryLeadership, startRedisMirror, type RedisMirror } from "./redis-mirror/mirror.ts";
import { createTopology, type Topology } from "./messaging/topology.ts";

/**
 * The connections and background workers one node shares between its services. Created before the
 * broker starts, closed after it stops; services reach it through `runtimeOf(this.broker)`.
 */
/**
 * What the composition root adds to a node's runtime from the floors above `lib/` (the partners'
 * client), declared by module augmentation next to what it adds.
 */
// biome-ignore lint/suspicious/noEmptyInterface: filled by `declare module` in adapters/
export interface RuntimeExtensions {}

export interface Runtime extends RuntimeExtensions {
  readonly config: Config;
  readonly topology: Topology;
  /** The HTTP API's, the relay's and short queries' pool. */
  readonly db: Database;
  /**
   * The pool of handler transactions that span a gateway call, with `handlerSlots` as its gate: a
   * slow partner fills these, never `db`, so the API and the relay keep their own capacity.
   */
  readonly handlerDb: Database;
  readonly handlerSlots: Limiter;
  readonly backbone: Backbone;
  readonly redis: Redis;
  /** Starts this node's outbox relay once, however many services ask for it. */
  ensureRelay(): Promise<OutboxRelay>;
  /** Starts this node's JetStream → Redis Streams mirror once; only the leader node writes. */
  ensureMirror(): Promise<RedisMirror>;
  /** Starts this node's clean-up of what is written per message or per request (lib/housekeeping/), once. */
  startHousekeeping(): Housekeeping;
  /** The mirror, when this node started one (for lag reports and metrics). */
  readonly mirror?: RedisMirror;
  close(): Promise<void>;
}

const runtimes = new WeakMap<ServiceBroker, Runtime>();

export function attachRuntime(broker: ServiceBroker, runtime: Runtime): void {
  runtimes.set(broker, runtime);
}

export function runtimeOf(broker: ServiceBroker): Runtime {
  const runtime = runtimes.get(broker);
  if (!runtime) throw new Error("no runtime attached to this broker (start nodes with startNode)");
  return runtime;
}

export class DependencyError extends Error {}

const RELAY_CONNECTIONS = 2;

async function reach<T>(what: string, hint: string, open: () => Promise<T>): Promise<T> {
  try {
    return await open();
  } catch (error) {
    throw new DependencyError(`cannot reach ${what}: ${errorMessage(error)}. ${hint}`);
  }
}

export async function openRuntime(config: Config, logger: Logger, extensions: RuntimeExtensions): Promise<Runtime> {
  const topology = createTopology(config.NAMESPACE);
  const limits = sessionLimitsOf(config);
  const db = createDatabase(config.POSTGRES_URL, { max: config.POSTGRES_POOL_MAX }, logger, limits);
  const handlerDb = createDatabase(config.POSTGRES_URL, { max: config.HANDLER_POOL_MAX }, logger, limits);
  // The relay's own two connections (one batch claiming while the last one commits): a busy API
  // pool would otherwise queue every claim behind the requests, and with it every event's latency.
  const relayDb = createDatabase(config.POSTGRES_URL, { max: RELAY_CONNECTIONS }, logger, limits);
  const closers: (() => Promise<unknown>)[] = [() => db.destroy(), () => handlerDb.destroy(), () => relayDb.destroy()];
  try {
    await reach(`Postgres at ${redact(config.POSTGRES_URL)}`, "Start it, or `docker compose up -d postgres`.", () => db.raw("SELECT 1"));
    const nc = await reach(`NATS at ${redact(config.NATS_URL)}`, "Start nats-server with -js, or `docker compose up -d nats`.", () =>
      connectNats(config.NATS_URL, `tickets-${config.NODE_ID ?? "node"}`),
    );
    closers.push(() => nc.drain());
    const backbone = await reach("JetStream", "Enable JetStream on the NATS server (-js).", async () => {
      const opened = await openBackbone(nc);
      await ensureStreams(opened.jsm, topology, {
        replicas: config.JETSTREAM_REPLICAS,
        duplicateWindowMs: config.JETSTREAM_DUPLICATE_WINDOW_MS,
        maxAgeMs: config.JETSTREAM_MAX_AGE_MS,
      });
      return opened;
    });
    // The mirror's Redis is optional at start-up: it is reported as degraded and caught up later.
    const redis = new Redis(config.REDIS_URL, {
      lazyConnect: true,
      enableOfflineQueue: false,
      maxRetriesPerRequest: 1,
      commandTimeout: 2_000,
    });
    redis.on("error", () => undefined);
    await redis
      .connect()
      .catch((error) =>
        logger.warn(
          { err: error.message },
          `Redis at ${redact(config.REDIS_URL)} unreachable; the Streams mirror will lag until it is back`,
        ),
      );
    closers.push(async () => redis.disconnect());

    let relay: Promise<OutboxRelay> | undefined;
    let mirror: Promise<RedisMirror> | undefined;
    let housekeeping: Housekeeping | undefined;
    const runtime: Runtime = {
      ...extensions,
      config,
      topology,
      db,
      handlerDb,
      handlerSlots: createLimiter(config.HANDLER_POOL_MAX),
      backbone,
      redis,
      ensureRelay() {
        relay ??= (async () => {
          const started = new OutboxRelay({
            db: relayDb,
            js: backbone.js,
            postgresUrl: config.POSTGRES_URL,
            logger,
            batchSize: config.OUTBOX_BATCH_SIZE,
            pollMs: config.OUTBOX_POLL_MS,
          });
          await started.start();
          return started;
        })();
        return relay;
      },
      ensureMirror() {
        mirror ??= startRedisMirror({
          nats: backbone.nc,
          redis,
          topology,
          logger,
          maxLen: config.REDIS_MIRROR_MAXLEN,
          maxAgeMs: config.REDIS_MIRROR_MAX_AGE_MS,
          dedupeWindowMs: config.REDIS_MIRROR_DEDUPE_WINDOW_MS,
          leadership: pgAdvisoryLeadership({
            connectionString: config.POSTGRES_URL,
            key: `tickets-redis-mirror:${config.NAMESPACE}`,
            logger,
          }),
        }).then((started) => {
          (runtime as { mirror?: RedisMirror }).mirror = started;
          return started;
        });
        return mirror;
      },
      startHousekeeping() {
        housekeeping ??= startHousekeeping({
          db,
          logger,
          outboxRetentionMs: config.OUTBOX_RETENTION_MS,
          idempotency: { explicitMs: config.IDEMPOTENCY_RETENTION_MS, implicitMs: config.IDEMPOTENCY_IMPLICIT_RETENTION_MS },
          inboxRetentionMs: config.INBOX_RETENTION_MS,
          batchSize: config.HOUSEKEEPING_BATCH_SIZE,
          intervalMs: config.HOUSEKEEPING_INTERVAL_MS,
        });
        return housekeeping;
      },
      async close() {
        await housekeeping?.stop();
        if (mirror) await (await mirror).stop().catch((error) => logger.warn({ err: error.message }, "mirror stop failed"));
        if (relay) await (await relay).stop().catch((error) => logger.warn({ err: error.message }, "relay stop failed"));
        for (const close of closers.reverse()) await close().catch(() => undefined);
      },
    };
    return runtime;
  } catch (error) {
    for (const close of closers.reverse()) await close().catch(() => undefined);
    throw error;
  }
}

/** A URL safe to log: credentials replaced. */
export function redact(url: string): string {
  return url.replace(/\/\/[^@/]*@/, "//***@");
}
