/**
 * Redis Streams compatibility mirror: copies the namespace's JetStream streams into the
 * Watermill-format Redis streams the old Go consumers read, exactly once and in order, without ever
 * slowing the JetStream path. How (the cursor, the script, bootstrap and recovery):
 * docs/redis-mirror.md.
 *
 * Pass an ioredis instance owned by the caller, e.g. `new Redis(url, { lazyConnect: true,
 * enableOfflineQueue: false, maxRetriesPerRequest: 1, commandTimeout })`: commands fail fast while
 * disconnected, ioredis reconnects by itself and the mirror retries. A single Redis (not Cluster).
 */
import { setTimeout as sleep } from "node:timers/promises";
import { type Consumer, jetstream, jetstreamManager } from "@nats-io/jetstream";
import type { NatsConnection } from "@nats-io/transport-node";
import type { Redis } from "ioredis";
import { errorMessage } from "../errors.ts";
import type { MessageKind, Topology } from "../messaging/topology.ts";
import type { Logger } from "../observability/logger.ts";
import { withTimeout } from "../timeout.ts";
import type { MirrorLeadership } from "./leadership.ts";
import { type EntrySettings, type MirroredStream, mirrorWriteOf } from "./mirror-entry.ts";
import { defineMirrorScript, MirrorResult, type MirrorWrite, runMirrorWrites } from "./mirror-script.ts";
import { redisReady, targetStreamsExist } from "./redis-state.ts";

export type { MirrorLeadership } from "./leadership.ts";
export { pgAdvisoryLeadership } from "./leadership.ts";

export interface RedisMirrorOptions {
  nats: NatsConnection;
  /** ioredis instance owned by the caller (see above); the mirror never closes it. */
  redis: Redis;
  topology: Topology;
  /** Approximate cap per Redis stream (`MAXLEN ~`). Unset or 0 ⇒ no cap by length. */
  maxLen?: number;
  /** Entries older than this are trimmed (`MINID ~`); keep it within JetStream's max age. Unset or 0 ⇒ none, as in the original. */
  maxAgeMs?: number;
  /** How long after its original a JetStream duplicate (same id, new sequence) is still recognised. Default 1 hour. */
  dedupeWindowMs?: number;
  /** Messages per JetStream fetch and most script calls per Redis pipeline. Default 256. */
  batchSize?: number;
  logger: Logger;
  leadership?: MirrorLeadership;
  /** Retry delays after an error: starts at `initialMs`, doubles up to `maxMs`. Default 100 → 5000. */
  backoff?: { initialMs?: number; maxMs?: number };
}

export interface MirrorLag {
  stream: string;
  lastSeq: number;
  mirroredSeq: number;
}

export interface RedisMirror {
  stop(): Promise<void>;
  lag(): Promise<MirrorLag[]>;
  /** mirrored: entries written; skipped: messages already mirrored, duplicates, unmirrorable; errors: failed attempts. */
  stats: { mirrored: number; skipped: number; errors: number };
}

const DEFAULT_DEDUPE_WINDOW_MS = 3_600_000;
const DEFAULT_BATCH_SIZE = 256;
const FETCH_EXPIRES_MS = 5_000;
const STOP_TIMEOUT_MS = 5_000;

/** The reader's view no longer matches the cursor in Redis: restart from the cursor. */
class ResyncNeeded extends Error {}
/** The cursor is gone but the target streams are not: needs an operator (docs/redis-mirror.md). */
class CursorMissing extends Error {}

interface StreamState extends MirroredStream {
  /** Last sequence known to be at or below the Redis cursor. */
  mirroredSeq: number;
}

/** Waits `ms` or until `signal` aborts, whichever comes first. */
const pause = (ms: number, signal: AbortSignal) => sleep(ms, undefined, { signal }).catch(() => undefined);

function intOption(value: number | undefined, fallback: number, min: number, what: string): number {
  if (value === undefined) return fallback;
  if (!Number.isSafeInteger(value) || value < min) throw new Error(`${what} must be an integer ≥ ${min}`);
  return value;
}

export async function startRedisMirror(options: RedisMirrorOptions): Promise<RedisMirror> {
  const { nats, redis, topology, logger, leadership } = options;
  const settings: EntrySettings = {
    topology,
    logger,
    maxLen: intOption(options.maxLen, 0, 0, "maxLen"),
    maxAgeMs: intOption(options.maxAgeMs, 0, 0, "maxAgeMs"),
    dedupeWindowMs: intOption(options.dedupeWindowMs, DEFAULT_DEDUPE_WINDOW_MS, 1000, "dedupeWindowMs"),
  };
  const batchSize = intOption(options.batchSize, DEFAULT_BATCH_SIZE, 1, "batchSize");
  const initialBackoff = intOption(options.backoff?.initialMs, 100, 1, "backoff.initialMs");
  const maxBackoff = Math.max(initialBackoff, intOption(options.backoff?.maxMs, 5_000, 1, "backoff.maxMs"));
  defineMirrorScript(redis);

  // Connection errors surface through the loops below; this keeps ioredis from printing each one.
  const onRedisError = (error: Error) => logger.debug({ err: error.message }, "redis mirror: redis connection error");
  redis.on("error", onRedisError);

  const js = jetstream(nats);
  const jsm = await jetstreamManager(nats);
  const kinds: MessageKind[] = ["event", "command"];
  const states: StreamState[] = kinds.map((kind) => ({
    kind,
    stream: topology.streams[kind],
    cursorKey: `${topology.redisInternalPrefix}mirror:${topology.streams[kind]}:last_seq`,
    mirroredSeq: 0,
  }));
  const stats = { mirrored: 0, skipped: 0, errors: 0 };
  const stopController = new AbortController();

  async function flush(state: StreamState, batch: MirrorWrite[]): Promise<void> {
    if (batch.length === 0) return;
    const results = await runMirrorWrites(redis, batch);
    results.forEach((result, i) => {
      const write = batch[i]!;
      if (result === MirrorResult.written) stats.mirrored++;
      else if (result === MirrorResult.already || result === MirrorResult.advanced) stats.skipped++;
      else if (result === MirrorResult.outOfSync) throw new ResyncNeeded(`cursor moved under the reader before seq ${write.seq}`);
      else throw new Error(`unexpected mirror script reply ${String(result)}`);
      state.mirroredSeq = write.seq;
    });
  }

  /** The cursor to continue from ("" = none yet: bootstrap from what JetStream holds within the max age). */
  async function readCursor(state: StreamState): Promise<string> {
    const raw = await redis.get(state.cursorKey);
    if (raw !== null) return raw;
    if (await targetStreamsExist(redis, topology, state.kind)) {
      throw new CursorMissing(
        `cursor ${state.cursorKey} is missing but the Redis streams of ${state.stream} exist; ` +
          `SET it to the last mirrored JetStream sequence, or delete those streams to re-mirror from the start`,
      );
    }
    logger.info(
      { stream: state.stream, max_age_ms: settings.maxAgeMs },
      "redis mirror: no cursor and no streams in Redis, mirroring what JetStream holds within the max age",
    );
    return "";
  }

  /** Mirrors fetched batches until stopped; each script call expects the cursor the previous one left. */
  async function follow(
    state: StreamState,
    consumer: Consumer,
    cursor: string,
    signal: AbortSignal,
    onProgress: () => void,
  ): Promise<void> {
    let expected = cursor;
    while (!signal.aborted) {
      const messages = await consumer.fetch({ max_messages: batchSize, expires: FETCH_EXPIRES_MS });
      const onAbort = () => messages.stop();
      signal.addEventListener("abort", onAbort, { once: true });
      try {
        let batch: MirrorWrite[] = [];
        let previousSeq = expected === "" ? 0 : Number(expected);
        for await (const msg of messages) {
          if (previousSeq > 0 && msg.seq > previousSeq + 1) {
            logger.warn(
              { stream: state.stream, from: previousSeq + 1, to: msg.seq - 1 },
              "redis mirror: sequences no longer in JetStream were never mirrored",
            );
          }
          batch.push(mirrorWriteOf(settings, state, msg, expected));
          expected = String(msg.seq);
          previousSeq = msg.seq;
          if (batch.length >= batchSize || messages.getPending() <= 0) {
            await flush(state, batch);
            batch = [];
            onProgress();
          }
        }
        await flush(state, batch);
        if (batch.length > 0) onProgress();
      } finally {
        signal.removeEventListener("abort", onAbort);
      }
    }
  }

  /**
   * The sequence a pass starts at: after the cursor; with no cursor (a first start, a Redis that
   * lost everything) the oldest message the time trim would keep. A re-mirror from the first message
   * JetStream holds would write its whole retention (7 days by default) as entries stamped now, which
   * the trim keeps for another max age: many times the steady memory, in a Redis that evicts nothing.
   * The time is resolved to a sequence by a throwaway consumer (NATS 2.9 has no get-by-time), so the
   * reading consumer starts by sequence: an ordered consumer re-creates itself by sequence after a
   * server loss, and a start time left in its configuration would conflict with that.
   */
  async function startSeqOf(state: StreamState, cursor: string): Promise<number> {
    if (cursor !== "") return Number(cursor) + 1;
    if (settings.maxAgeMs === 0) return 1;
    // the last sequence is read first: a message stored after it is newer than `since`
    const { last_seq, last_ts, messages } = (await jsm.streams.info(state.stream)).state;
    const since = Date.now() - settings.maxAgeMs;
    if (messages === 0 || Date.parse(last_ts) < since) return last_seq + 1;
    const probe = await js.consumers.get(state.stream, { opt_start_time: new Date(since).toISOString() });
    try {
      const oldestKept = await probe.next({ expires: FETCH_EXPIRES_MS });
      return oldestKept && oldestKept.seq <= last_seq ? oldestKept.seq : last_seq + 1;
    } finally {
      probe.delete().catch(() => {});
    }
  }

  /** One pass: read the cursor, follow JetStream from there until stopped or an error. */
  async function mirrorPass(state: StreamState, signal: AbortSignal, onProgress: () => void): Promise<void> {
    await redisReady(redis, signal, maxBackoff);
    const cursor = await readCursor(state);
    state.mirroredSeq = cursor === "" ? 0 : Number(cursor);
    const start = await startSeqOf(state, cursor);
    const consumer = await js.consumers.get(state.stream, { opt_start_seq: start });
    logger.debug({ stream: state.stream, start }, "redis mirror: reading");
    try {
      await follow(state, consumer, cursor, signal, onProgress);
    } finally {
      consumer.delete().catch(() => {});
    }
  }

  async function streamLoop(state: StreamState, signal: AbortSignal): Promise<void> {
    let delay = initialBackoff;
    let failures = 0;
    const recovered = () => {
      delay = initialBackoff;
      if (failures > 0) logger.info({ stream: state.stream, failures }, "redis mirror: recovered");
      failures = 0;
    };
    while (!signal.aborted) {
      try {
        await mirrorPass(state, signal, recovered);
      } catch (error) {
        if (signal.aborted) break;
        if (error instanceof ResyncNeeded) {
          logger.info({ stream: state.stream, err: errorMessage(error) }, "redis mirror: resuming from the cursor in Redis");
          await pause(initialBackoff, signal);
          continue;
        }
        stats.errors++;
        failures++;
        if (error instanceof CursorMissing) {
          logger.error({ stream: state.stream, cursorKey: state.cursorKey }, error.message);
          await pause(maxBackoff, signal);
          continue;
        }
        const details = { stream: state.stream, retryInMs: delay, err: errorMessage(error) };
        if (failures === 1) logger.warn(details, "redis mirror: failed, lagging until it recovers");
        else logger.debug(details, "redis mirror: still failing");
        await pause(delay, signal);
        delay = Math.min(delay * 2, maxBackoff);
      }
    }
  }

  /** Resolves with this node's leadership (and the signal of losing it), or undefined once stopped. */
  async function lead(): Promise<{ lost?: AbortSignal } | undefined> {
    const stopped = stopController.signal;
    while (!stopped.aborted) {
      if (!leadership) return {};
      try {
        const lost = (await leadership.acquire(stopped)) ?? undefined;
        if (stopped.aborted) return undefined;
        logger.info({}, "redis mirror: leading");
        return { lost };
      } catch (error) {
        if (stopped.aborted) return undefined;
        logger.warn({ err: errorMessage(error) }, "redis mirror: leadership acquire failed");
        await pause(maxBackoff, stopped);
      }
    }
    return undefined;
  }

  async function run(): Promise<void> {
    for (let held = await lead(); held; held = await lead()) {
      const signal = held.lost ? AbortSignal.any([stopController.signal, held.lost]) : stopController.signal;
      await Promise.all(states.map((state) => streamLoop(state, signal)));
      if (held.lost?.aborted && !stopController.signal.aborted) logger.warn({}, "redis mirror: leadership lost, standing by");
      if (stopController.signal.aborted) return;
    }
  }

  const running = run().catch((error: unknown) => {
    logger.error({ err: errorMessage(error) }, "redis mirror: stopped unexpectedly");
  });

  return {
    stats,
    async stop() {
      stopController.abort();
      // A pipeline to a hung Redis cannot be cancelled; do not wait for it forever. Whatever it
      // still writes later is safe: the script's cursor check makes it a no-op or a valid step.
      await withTimeout(running, STOP_TIMEOUT_MS).catch(() => {
        logger.warn({}, "redis mirror: stopped while a Redis call was still in flight");
      });
      redis.off("error", onRedisError);
      if (leadership) await leadership.release();
    },
    async lag() {
      return Promise.all(
        states.map(async (state) => {
          const info = await jsm.streams.info(state.stream);
          let mirroredSeq = state.mirroredSeq;
          try {
            const raw = await withTimeout(redis.get(state.cursorKey), 1_000);
            mirroredSeq = raw === null ? 0 : Number(raw);
          } catch {
            // Redis unavailable: report the last cursor this process confirmed.
          }
          return { stream: state.stream, lastSeq: info.state.last_seq, mirroredSeq };
        }),
      );
    },
  };
}
