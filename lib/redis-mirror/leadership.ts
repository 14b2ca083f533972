import { setTimeout as sleep } from "node:timers/promises";
import pg from "pg";
import { errorMessage } from "../errors.ts";
import type { Logger } from "../observability/logger.ts";

export interface MirrorLeadership {
  /**
   * Resolves once this node may mirror; rejects when `signal` aborts first. It may resolve with an
   * AbortSignal that fires when leadership is lost: the mirror then stops and calls acquire again.
   */
  acquire(signal: AbortSignal): Promise<undefined | AbortSignal>;
  release(): Promise<void>;
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

  async function connect(): Promise<pg.Client> {
    if (client) return client;
    const fresh = new pg.Client({ connectionString: options.connectionString, keepAlive: true, keepAliveInitialDelayMillis: 10_000 });
    fresh.on("error", (error) => drop(fresh, error.message));
    fresh.on("end", () => drop(fresh, "connection ended"));
    client = fresh;
    await fresh.connect();
    return fresh;
  }

  /** A silently dead connection means the lock is gone too: notice it within retryMs. */
  function watch(holder: pg.Client): AbortSignal {
    lost = new AbortController();
    heartbeat = setInterval(() => {
      holder.query("SELECT 1").catch((error: Error) => drop(holder, error.message));
    }, retryMs);
    heartbeat.unref();
    return lost.signal;
  }

  return {
    async acquire(signal) {
      while (!signal.aborted) {
        try {
          const holder = await connect();
          const result = await holder.query<{ ok: boolean }>(`SELECT pg_try_advisory_lock(${keySql}) AS ok`, [keyParam]);
          if (result.rows[0]?.ok) return watch(holder);
        } catch (error) {
          options.logger?.warn({ err: errorMessage(error) }, "advisory leadership: cannot reach Postgres, retrying");
          if (client) drop(client, "query failed");
        }
        await sleep(retryMs, undefined, { signal }).catch(() => undefined);
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
