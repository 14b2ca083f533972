/**
 * Redis Streams compatibility mirror: copies the JetStream streams `topology.streams.event` and
 * `topology.streams.command` into the Watermill-format Redis streams the old Go consumers read
 * (`events` + `events.<Name>`, `commands.<Name>`; format in lib/redis-mirror/watermill.ts).
 *
 * How it stays exactly-once and in order
 * - One loop per source stream reads it in stream-sequence order with an ordered (ephemeral, no-ack)
 *   consumer that starts after a cursor kept IN REDIS: `<internal>mirror:<STREAM>:last_seq`.
 * - Every message is written by one Lua script (EVALSHA via ioredis `defineCommand`; a batch of
 *   calls is pipelined). The script is the only writer of the cursor and does, atomically:
 *     seq ≤ cursor                         → nothing (already mirrored; returns 0)
 *     cursor ≠ the previous seq this reader saw (or absent when the reader did not expect it)
 *                                          → nothing; the reader restarts from the cursor (-1)
 *     dedupe marker `<internal>mirror:seen:<uuid>` exists
 *                                          → cursor = seq only (a JetStream duplicate stored after
 *                                            its dedupe window; returns 2)
 *     otherwise XADD to every target stream (MAXLEN ~ N only when a cap is configured), SET the
 *     marker with a TTL (default 7 days), cursor = seq (returns 1).
 *   The "previous seq" compare-and-set means a failed call in the middle of a pipeline can never be
 *   skipped over by the calls after it, and a client-side timeout whose commands still run later,
 *   a crash, a restart or a second mirror on another node all end in "skip" or "restart from the
 *   cursor" — never a lost or doubled entry. Target key types are checked before the first write
 *   (Lua errors do not roll back).
 * - Redis down or erroring: the loop drops its consumer, backs off (100 ms doubling to 5 s), re-reads
 *   the cursor and resumes at cursor + 1. It is a separate reader of JetStream, so the publishing
 *   path never waits on it.
 *
 * When the cursor is missing (decided):
 * - cursor missing AND none of the kind's target Redis streams exist (a fresh Redis, or one that
 *   lost its data — e.g. restarted without persistence): bootstrap. Mirror from the first message
 *   JetStream still holds. In a Redis that lost its data the Go consumer groups are gone too, and
 *   they re-create theirs at `0`, so re-writing the retained history is the closest we can get to
 *   what was there; entries older than JetStream retention are gone for good.
 * - cursor missing BUT target streams exist (cursor deleted or evicted, or the Go app wrote these
 *   streams before the mirror existed): do not guess. Starting at the beginning would double
 *   entries older than the dedupe-marker TTL, starting at the end would drop entries. The loop logs
 *   an error naming the key and retries every 5 s; the operator either sets the cursor
 *   (`SET <key> <last mirrored JetStream seq>`) or deletes the streams to re-mirror everything.
 * - The cursor vanishing while the mirror runs (Redis restarted empty between two batches) is seen by
 *   the script (-1) and leads to the same decision, so entries are never written into an empty
 *   Redis from the middle of the stream.
 *
 * Leadership (optional): only one node needs to mirror. `pgAdvisoryLeadership` (below) holds a
 * Postgres session advisory lock on a dedicated connection. Correctness never depends on it (the
 * cursor check makes a second concurrent mirror harmless); it only saves work.
 *
 * Redis client: pass an ioredis instance created by the caller, e.g.
 * `new Redis(url, { lazyConnect: true, enableOfflineQueue: false, maxRetriesPerRequest: 1 })`, plus
 * `commandTimeout` if a hung server should count as an error. With the offline queue off, commands
 * fail fast while disconnected and ioredis reconnects on its own; the mirror just retries. The
 * mirror defines the `ticketsMirrorWrite` command on it, adds an `error` listener while it runs
 * (errors are reported through the logger instead) and never closes it. A single Redis (not Cluster)
 * is assumed: the script touches the cursor, the marker and the streams in one call.
 */
import { jetstream, jetstreamManager, type JsMsg } from "@nats-io/jetstream";
import type { NatsConnection } from "@nats-io/transport-node";
import type { Redis } from "ioredis";
import pg from "pg";
import { errorMessage } from "../errors.ts";
import type { Logger } from "../observability/logger.ts";
import { withTimeout } from "../timeout.ts";
import { MessageHeaders, type MessageKind, type Topology } from "../messaging/topology.ts";
import { encodeWatermillEntry } from "./watermill.ts";

export interface MirrorLeadership {
  /**
   * Resolves once this node may mirror; rejects when `signal` aborts first. It may resolve with an
   * AbortSignal that fires when leadership is lost: the mirror then stops and calls acquire again.
   */
  acquire(signal: AbortSignal): Promise<undefined | AbortSignal>;
  release(): Promise<void>;
}

export interface RedisMirrorOptions {
  nats: NatsConnection;
  /** ioredis instance owned by the caller (see the header comment for the recommended options). */
  redis: Redis;
  topology: Topology;
  /** Approximate cap per Redis stream (`MAXLEN ~`). Unset or 0 ⇒ no trimming, as in the original. */
  maxLen?: number;
  /** Lifetime of the per-uuid dedupe markers. Default 7 days. */
  dedupeTtlSeconds?: number;
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

const DEFAULT_DEDUPE_TTL_SECONDS = 7 * 24 * 3600;
const DEFAULT_BATCH_SIZE = 256;
const FETCH_EXPIRES_MS = 5_000;
const STOP_TIMEOUT_MS = 5_000;
const COMMAND = "ticketsMirrorWrite";

// KEYS: cursor, dedupe marker, target streams…
// ARGV: seq, expected cursor ("" = must be absent), marker TTL s, maxlen ("0" = none),
//       mode ("w" write, "a" only advance the cursor), then the entry's field/value pairs.
const MIRROR_WRITE_LUA = `
local cur = redis.call('GET', KEYS[1])
if cur and tonumber(cur) >= tonumber(ARGV[1]) then return 0 end
if (cur or '') ~= ARGV[2] then return -1 end
if ARGV[5] == 'a' or redis.call('EXISTS', KEYS[2]) == 1 then
  redis.call('SET', KEYS[1], ARGV[1])
  return 2
end
for i = 3, #KEYS do
  local t = redis.call('TYPE', KEYS[i])['ok']
  if t ~= 'stream' and t ~= 'none' then
    return redis.error_reply('WRONGTYPE mirror target ' .. KEYS[i] .. ' is a ' .. t)
  end
end
for i = 3, #KEYS do
  if ARGV[4] ~= '0' then
    redis.call('XADD', KEYS[i], 'MAXLEN', '~', ARGV[4], '*', unpack(ARGV, 6))
  else
    redis.call('XADD', KEYS[i], '*', unpack(ARGV, 6))
  end
end
redis.call('SET', KEYS[2], ARGV[1], 'EX', ARGV[3])
redis.call('SET', KEYS[1], ARGV[1])
return 1
`;

const WRITTEN = 1;
const ALREADY = 0;
const ADVANCED = 2;
const OUT_OF_SYNC = -1;

type ScriptCaller = { [COMMAND](...args: (string | Buffer | number)[]): unknown };

/** The reader's view no longer matches the cursor in Redis: restart from the cursor. */
class ResyncNeeded extends Error {}
/** The cursor is gone but the target streams are not: needs an operator (see the header). */
class CursorMissing extends Error {}

interface Write {
  seq: number;
  keys: string[];
  args: (string | Buffer)[];
}

interface StreamState {
  kind: MessageKind;
  stream: string;
  cursorKey: string;
  /** Last sequence known to be at or below the Redis cursor. */
  mirroredSeq: number;
}

function sleep(ms: number, signal: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    if (signal.aborted) return resolve();
    const onAbort = () => {
      clearTimeout(timer);
      resolve();
    };
    const timer = setTimeout(() => {
      signal.removeEventListener("abort", onAbort);
      resolve();
    }, ms);
    signal.addEventListener("abort", onAbort, { once: true });
  });
}

function errorInfo(error: unknown): { err: string } {
  return { err: errorMessage(error) };
}

function intOption(value: number | undefined, fallback: number, min: number, what: string): number {
  if (value === undefined) return fallback;
  if (!Number.isSafeInteger(value) || value < min) throw new Error(`${what} must be an integer ≥ ${min}`);
  return value;
}

export async function startRedisMirror(options: RedisMirrorOptions): Promise<RedisMirror> {
  const { nats, redis, topology, logger, leadership } = options;
  const maxLen = intOption(options.maxLen, 0, 0, "maxLen");
  const dedupeTtl = intOption(options.dedupeTtlSeconds, DEFAULT_DEDUPE_TTL_SECONDS, 1, "dedupeTtlSeconds");
  const batchSize = intOption(options.batchSize, DEFAULT_BATCH_SIZE, 1, "batchSize");
  const initialBackoff = intOption(options.backoff?.initialMs, 100, 1, "backoff.initialMs");
  const maxBackoff = Math.max(initialBackoff, intOption(options.backoff?.maxMs, 5_000, 1, "backoff.maxMs"));

  if (typeof (redis as unknown as Partial<ScriptCaller>)[COMMAND] !== "function") {
    redis.defineCommand(COMMAND, { lua: MIRROR_WRITE_LUA });
  }

  // Connection errors surface through the loops below; this keeps ioredis from printing each one.
  const onRedisError = (error: Error) => logger.debug({ err: error.message }, "redis mirror: redis connection error");
  redis.on("error", onRedisError);

  const js = jetstream(nats);
  const jsm = await jetstreamManager(nats);
  const prefix = topology.redisInternalPrefix;
  const kinds: MessageKind[] = ["event", "command"];
  const states: StreamState[] = kinds.map((kind) => ({
    kind,
    stream: topology.streams[kind],
    cursorKey: `${prefix}mirror:${topology.streams[kind]}:last_seq`,
    mirroredSeq: 0,
  }));
  const stats = { mirrored: 0, skipped: 0, errors: 0 };
  const stopController = new AbortController();

  /** Message name from the header, else from the subject (`<ns.>events.<Name>`). */
  function messageName(kind: MessageKind, msg: JsMsg): string {
    const fromHeader = msg.headers?.get(MessageHeaders.name) ?? "";
    if (fromHeader) return fromHeader;
    const subjectPrefix = topology.subject(kind, "");
    return msg.subject.startsWith(subjectPrefix) ? msg.subject.slice(subjectPrefix.length) : "";
  }

  function toWrite(state: StreamState, msg: JsMsg, expected: string): Write {
    const header = (key: string) => msg.headers?.get(key) ?? "";
    const uuid = header(MessageHeaders.messageId);
    const name = messageName(state.kind, msg);
    const common = [String(msg.seq), expected, String(dedupeTtl), String(maxLen)];
    if (!uuid || !name) {
      logger.error(
        { stream: state.stream, seq: msg.seq, subject: msg.subject, uuid, name },
        "redis mirror: message without id or name cannot be mirrored; skipping it",
      );
      return { seq: msg.seq, keys: [state.cursorKey, `${prefix}mirror:seen:`], args: [...common, "a"] };
    }
    const metadata: Record<string, string> = { name };
    const correlationId = header(MessageHeaders.correlationId);
    const traceparent = header(MessageHeaders.traceparent);
    const tracestate = header(MessageHeaders.tracestate);
    if (correlationId) metadata.correlation_id = correlationId;
    if (traceparent) metadata.traceparent = traceparent;
    if (tracestate) metadata.tracestate = tracestate;
    const fields = encodeWatermillEntry({ uuid, payload: msg.data, metadata });
    return {
      seq: msg.seq,
      keys: [state.cursorKey, `${prefix}mirror:seen:${uuid}`, ...topology.redisStreams(state.kind, name)],
      args: [...common, "w", ...fields],
    };
  }

  async function flush(state: StreamState, batch: Write[]): Promise<void> {
    if (batch.length === 0) return;
    const pipeline = redis.pipeline();
    const caller = pipeline as unknown as ScriptCaller;
    for (const write of batch) caller[COMMAND](write.keys.length, ...write.keys, ...write.args);
    const results = await pipeline.exec();
    if (!results) throw new Error("redis pipeline was discarded");
    for (let i = 0; i < batch.length; i++) {
      const [error, result] = results[i] ?? [new Error("missing pipeline reply"), null];
      if (error) throw error;
      const write = batch[i] as Write;
      switch (Number(result)) {
        case WRITTEN:
          stats.mirrored++;
          break;
        case ALREADY:
        case ADVANCED:
          stats.skipped++;
          break;
        case OUT_OF_SYNC:
          throw new ResyncNeeded(`cursor moved under the reader before seq ${write.seq}`);
        default:
          throw new Error(`unexpected mirror script reply ${String(result)}`);
      }
      state.mirroredSeq = write.seq;
    }
  }

  /** Whether any Redis stream this kind writes to exists (decides the bootstrap, see the header). */
  async function targetsExist(kind: MessageKind): Promise<boolean> {
    for (const key of topology.redisStreams(kind, "*")) {
      if (!key.includes("*")) {
        if ((await redis.type(key)) !== "none") return true;
        continue;
      }
      let cursor = "0";
      do {
        const [next, keys] = await redis.scan(cursor, "MATCH", key, "COUNT", 1000, "TYPE", "stream");
        if (keys.length > 0) return true;
        cursor = next;
      } while (cursor !== "0");
    }
    return false;
  }

  /** Waits (bounded) for ioredis to be connected, so a reconnect in progress is not an error. */
  async function redisReady(signal: AbortSignal): Promise<void> {
    if (redis.status === "ready") return;
    if (redis.status === "wait") redis.connect().catch(() => {});
    await new Promise<void>((resolve) => {
      const done = () => {
        clearTimeout(timer);
        redis.off("ready", done);
        signal.removeEventListener("abort", done);
        resolve();
      };
      const timer = setTimeout(done, maxBackoff);
      redis.once("ready", done);
      signal.addEventListener("abort", done, { once: true });
    });
    if ((redis.status as string) !== "ready" && !signal.aborted) throw new Error(`redis is not connected (${redis.status})`);
  }

  /** One pass: read the cursor, follow JetStream from there until stopped or an error. */
  async function mirrorPass(state: StreamState, signal: AbortSignal, onProgress: () => void): Promise<void> {
    await redisReady(signal);
    const raw = await redis.get(state.cursorKey);
    let expected: string;
    if (raw === null) {
      if (await targetsExist(state.kind)) {
        throw new CursorMissing(
          `cursor ${state.cursorKey} is missing but the Redis streams of ${state.stream} exist; ` +
            `SET it to the last mirrored JetStream sequence, or delete those streams to re-mirror from the start`,
        );
      }
      expected = "";
      logger.info(
        { stream: state.stream },
        "redis mirror: no cursor and no streams in Redis, mirroring from the first message in JetStream",
      );
    } else {
      expected = raw;
    }
    state.mirroredSeq = raw === null ? 0 : Number(raw);
    const start = raw === null ? 1 : Number(raw) + 1;
    const consumer = await js.consumers.get(state.stream, { opt_start_seq: start });
    logger.debug({ stream: state.stream, start }, "redis mirror: reading");
    try {
      while (!signal.aborted) {
        const messages = await consumer.fetch({ max_messages: batchSize, expires: FETCH_EXPIRES_MS });
        const onAbort = () => messages.stop();
        signal.addEventListener("abort", onAbort, { once: true });
        try {
          let batch: Write[] = [];
          let previousSeq = expected === "" ? 0 : Number(expected);
          for await (const msg of messages) {
            if (previousSeq > 0 && msg.seq > previousSeq + 1) {
              logger.warn(
                { stream: state.stream, from: previousSeq + 1, to: msg.seq - 1 },
                "redis mirror: sequences no longer in JetStream were never mirrored",
              );
            }
            batch.push(toWrite(state, msg, expected));
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
    } finally {
      consumer.delete().catch(() => {});
    }
  }

  async function streamLoop(state: StreamState, signal: AbortSignal): Promise<void> {
    let delay = initialBackoff;
    let failing = false;
    let failures = 0;
    while (!signal.aborted) {
      try {
        await mirrorPass(state, signal, () => {
          delay = initialBackoff;
          if (failing) {
            logger.info({ stream: state.stream, failures }, "redis mirror: recovered");
            failing = false;
            failures = 0;
          }
        });
      } catch (error) {
        if (signal.aborted) break;
        if (error instanceof ResyncNeeded) {
          logger.info({ stream: state.stream, ...errorInfo(error) }, "redis mirror: resuming from the cursor in Redis");
          await sleep(initialBackoff, signal);
          continue;
        }
        stats.errors++;
        failures++;
        if (error instanceof CursorMissing) {
          logger.error({ stream: state.stream, cursorKey: state.cursorKey }, error.message);
          await sleep(maxBackoff, signal);
          continue;
        }
        const details = { stream: state.stream, retryInMs: delay, ...errorInfo(error) };
        if (!failing) logger.warn(details, "redis mirror: failed, lagging until it recovers");
        else logger.debug(details, "redis mirror: still failing");
        failing = true;
        await sleep(delay, signal);
        delay = Math.min(delay * 2, maxBackoff);
      }
    }
  }

  async function run(): Promise<void> {
    while (!stopController.signal.aborted) {
      let lost: AbortSignal | undefined;
      if (leadership) {
        try {
          lost = (await leadership.acquire(stopController.signal)) ?? undefined;
        } catch (error) {
          if (stopController.signal.aborted) return;
          logger.warn(errorInfo(error), "redis mirror: leadership acquire failed");
          await sleep(maxBackoff, stopController.signal);
          continue;
        }
        if (stopController.signal.aborted) return;
        logger.info({}, "redis mirror: leading");
      }
      const signal = lost ? AbortSignal.any([stopController.signal, lost]) : stopController.signal;
      await Promise.all(states.map((state) => streamLoop(state, signal)));
      if (lost?.aborted && !stopController.signal.aborted) {
        logger.warn({}, "redis mirror: leadership lost, standing by");
      }
    }
  }

  const running = run().catch((error: unknown) => {
    logger.error(errorInfo(error), "redis mirror: stopped unexpectedly");
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

export interface PgAdvisoryLeadershipOptions {
  connectionString: string;
  /** Lock id: a bigint-range integer, or a string hashed by Postgres (`hashtextextended`). */
  key: number | bigint | string;
  /** How often a non-leader tries again. Default 3000 ms. */
  retryMs?: number;
  logger?: Logger;
}

/**
 * Leadership through `pg_try_advisory_lock` on a dedicated connection: the session holds the lock
 * until `release()` or until the connection drops (then the returned signal fires and another node
 * can take over). Non-leaders retry every `retryMs`; the leader pings its session as often, so a
 * dead connection is noticed. One instance per mirror. While Postgres is unreachable nobody leads
 * and the mirror lags (the relay cannot publish then either); it catches up once a node leads again.
 */
export function pgAdvisoryLeadership(options: PgAdvisoryLeadershipOptions): MirrorLeadership {
  const retryMs = options.retryMs ?? 3_000;
  const isText = typeof options.key === "string";
  const keyParam = String(options.key);
  if (!isText && !/^-?\d+$/.test(keyParam)) throw new Error("advisory lock key must be an integer or a string");
  const keySql = isText ? "hashtextextended($1::text, 0)" : "$1::bigint";
  let client: pg.Client | null = null;
  let lost: AbortController | null = null;
  let heartbeat: NodeJS.Timeout | undefined;

  function drop(which: pg.Client, reason: string): void {
    if (client !== which) return;
    client = null;
    clearInterval(heartbeat);
    which.end().catch(() => {});
    if (lost) {
      options.logger?.warn({ reason }, "advisory leadership: connection lost, lock released");
      lost.abort(new Error(reason));
      lost = null;
    }
  }

  return {
    async acquire(signal) {
      while (!signal.aborted) {
        try {
          if (!client) {
            const fresh = new pg.Client({
              connectionString: options.connectionString,
              keepAlive: true,
              keepAliveInitialDelayMillis: 10_000,
            });
            fresh.on("error", (error) => drop(fresh, error.message));
            fresh.on("end", () => drop(fresh, "connection ended"));
            client = fresh;
            await fresh.connect();
          }
          const result = await client.query<{ ok: boolean }>(`SELECT pg_try_advisory_lock(${keySql}) AS ok`, [keyParam]);
          if (result.rows[0]?.ok) {
            lost = new AbortController();
            // A silently dead connection means the lock is gone too: notice it within retryMs.
            const holder = client;
            heartbeat = setInterval(() => {
              holder.query("SELECT 1").catch((error: Error) => drop(holder, error.message));
            }, retryMs);
            heartbeat.unref();
            return lost.signal;
          }
        } catch (error) {
          options.logger?.warn(errorInfo(error), "advisory leadership: cannot reach Postgres, retrying");
          if (client) drop(client, "query failed");
        }
        await sleep(retryMs, signal);
      }
      throw signal.reason instanceof Error ? signal.reason : new Error("aborted");
    },
    async release() {
      clearInterval(heartbeat);
      const current = client;
      client = null;
      const held = lost !== null;
      lost = null;
      if (!current) return;
      try {
        if (held) await current.query(`SELECT pg_advisory_unlock(${keySql})`, [keyParam]);
      } catch {
        // the session ends below, which releases the lock anyway
      }
      await current.end().catch(() => {});
    },
  };
}
