import type { Redis } from "ioredis";
import type { MessageKind, Topology } from "../messaging/topology.ts";

/** Whether any Redis stream this kind writes to exists (decides the bootstrap, docs/redis-mirror.md). */
export async function targetStreamsExist(redis: Redis, topology: Topology, kind: MessageKind): Promise<boolean> {
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

/** Waits at most `maxWaitMs` for ioredis to be connected, so a reconnect in progress is not an error. */
export async function redisReady(redis: Redis, signal: AbortSignal, maxWaitMs: number): Promise<void> {
  if (redis.status === "ready") return;
  if (redis.status === "wait") redis.connect().catch(() => {});
  await new Promise<void>((resolve) => {
    const done = () => {
      clearTimeout(timer);
      redis.off("ready", done);
      signal.removeEventListener("abort", done);
      resolve();
    };
    const timer = setTimeout(done, maxWaitMs);
    redis.once("ready", done);
    signal.addEventListener("abort", done, { once: true });
  });
  if ((redis.status as string) !== "ready" && !signal.aborted) throw new Error(`redis is not connected (${redis.status})`);
}
