import type { ServiceBroker } from "moleculer";
import type { Runtime } from "../runtime.ts";
import { errorMessage } from "../errors.ts";
import { withTimeout } from "../timeout.ts";
import { type AccessMode, accessModeOf } from "../http/auth/access-mode.ts";

export interface ReadinessReport {
  ready: boolean;
  services: "started" | "starting";
  /** `development`: no credential is configured and every route is open. */
  access: AccessMode;
  checks: Record<string, { status: "up" | "down" | "degraded"; error?: string }>;
}

const PROBE_TIMEOUT_MS = 2_000;

async function probe(check: () => Promise<unknown>): Promise<{ status: "up" | "down"; error?: string }> {
  try {
    await withTimeout(check(), PROBE_TIMEOUT_MS);
    return { status: "up" };
  } catch (error) {
    return { status: "down", error: errorMessage(error) };
  }
}

/** Ready = every local service started and Postgres, NATS and JetStream answer; Redis only degrades. */
export async function readiness(broker: ServiceBroker, runtime: Runtime): Promise<ReadinessReport> {
  const [postgres, nats, jetstream, redis] = await Promise.all([
    probe(() => runtime.db.raw("SELECT 1")),
    probe(() => runtime.backbone.nc.flush()),
    probe(() => runtime.backbone.jsm.getAccountInfo()),
    probe(() => runtime.redis.ping()),
  ]);
  const checks = { postgres, nats, jetstream, redis: redis.status === "up" ? redis : { ...redis, status: "degraded" as const } };
  const required = [postgres, nats, jetstream].every((c) => c.status === "up");
  const access = await accessModeOf(runtime.config, runtime.db);
  return { ready: broker.started && required, services: broker.started ? "started" : "starting", access, checks };
}
