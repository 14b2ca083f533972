import { readFileSync } from "node:fs";
import type { Redis } from "ioredis";

/** The one writer of mirrored entries and of the cursor (mirror-write.lua). */
const COMMAND = "ticketsMirrorWrite";
const MIRROR_WRITE_LUA = readFileSync(new URL("./mirror-write.lua", import.meta.url), "utf8");

/** What the script answers for one message. */
export const MirrorResult = { written: 1, already: 0, advanced: 2, outOfSync: -1 } as const;

/** One script call: the cursor, marker and target keys, and the arguments mirror-write.lua reads. */
export interface MirrorWrite {
  seq: number;
  keys: string[];
  args: (string | Buffer)[];
}

type ScriptCaller = { [COMMAND](...args: (string | Buffer | number)[]): unknown };

/** Registers the script on the caller's ioredis instance (EVALSHA, loaded on first use). */
export function defineMirrorScript(redis: Redis): void {
  if (typeof (redis as unknown as Partial<ScriptCaller>)[COMMAND] !== "function") {
    redis.defineCommand(COMMAND, { lua: MIRROR_WRITE_LUA });
  }
}

/** Sends a batch of writes in one pipeline; answers each write's result, in order, or throws the first error. */
export async function runMirrorWrites(redis: Redis, batch: MirrorWrite[]): Promise<number[]> {
  const pipeline = redis.pipeline();
  const caller = pipeline as unknown as ScriptCaller;
  for (const write of batch) caller[COMMAND](write.keys.length, ...write.keys, ...write.args);
  const results = await pipeline.exec();
  if (!results) throw new Error("redis pipeline was discarded");
  return batch.map((_, i) => {
    const [error, result] = results[i] ?? [new Error("missing pipeline reply"), null];
    if (error) throw error;
    return Number(result);
  });
}
