import type { Logger } from "../../observability/logger.ts";
import type { Runtime } from "../../runtime.ts";
import { type AccessControl, accessControl } from "./access-control.ts";
import { redisRateLimiter } from "./rate-limit.ts";
import { TokenOwners } from "./token-owners.ts";

export type { AccessControl } from "./access-control.ts";

/** The access control of one gateway: its node's database for identities (and their changes), Redis for the cluster-wide rate limits. */
export function createAccessControl(runtime: Runtime, logger: Logger): AccessControl {
  const { config, db, redis, topology } = runtime;
  let warned = false;
  const limiter = redisRateLimiter({
    redis,
    keyPrefix: topology.redisInternalPrefix,
    windowMs: config.RATE_LIMIT_WINDOW_MS,
    limits: {
      "sign-in": config.RATE_LIMIT_SIGN_IN,
      "auth-failure": config.RATE_LIMIT_AUTH_FAILURES,
      anonymous: config.RATE_LIMIT_ANONYMOUS,
    },
    onRedisError(error) {
      if (warned) return;
      warned = true;
      logger.warn({ err: error.message }, "rate limits not enforced while Redis is unreachable");
    },
  });
  const tokenOwners = new TokenOwners({ postgresUrl: config.POSTGRES_URL, ttlMs: config.API_TOKEN_CACHE_MS, logger });
  return accessControl({ config, db, limiter, tokenOwners, logger });
}
