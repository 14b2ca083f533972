import type { Redis } from "ioredis";

export type RateBucket = "sign-in" | "auth-failure" | "anonymous";

export interface RateLimiter {
  /** Counts one event of the client; false once the client is over the bucket's limit in this window. */
  hit(bucket: RateBucket, client: string): Promise<boolean>;
  /** True while the client is over the limit, without counting. */
  exceeded(bucket: RateBucket, client: string): Promise<boolean>;
}

export interface RateLimitOptions {
  redis: Redis;
  keyPrefix: string;
  windowMs: number;
  limits: Record<RateBucket, number>;
  onRedisError(error: Error): void;
}

/**
 * Counters in Redis per client and window (opened by the client's first event), shared by every gateway node, so a cluster limits a client as one.
 * Without Redis the limits are not enforced (the callers' credentials still are): an outage of the
 * mirror's store must not lock staff out.
 */
export function redisRateLimiter({ redis, keyPrefix, windowMs, limits, onRedisError }: RateLimitOptions): RateLimiter {
  const keyOf = (bucket: RateBucket, client: string) => `${keyPrefix}ratelimit:${bucket}:${client}`;
  const counted = async (bucket: RateBucket, client: string, increment: boolean): Promise<number> => {
    const key = keyOf(bucket, client);
    try {
      if (!increment) return Number((await redis.get(key)) ?? 0);
      // The window opens with the client's first event and the key expires with it.
      const [, [, count]] = (await redis.multi().set(key, 0, "PX", windowMs, "NX").incr(key).exec()) as [unknown, [Error | null, number]];
      return count;
    } catch (error) {
      onRedisError(error as Error);
      return 0;
    }
  };
  return {
    hit: async (bucket, client) => (await counted(bucket, client, true)) <= limits[bucket],
    exceeded: async (bucket, client) => (await counted(bucket, client, false)) >= limits[bucket],
  };
}
