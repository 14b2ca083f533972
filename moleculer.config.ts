import type { BrokerOptions } from "moleculer";
import type { Config } from "./config/index.ts";
import { GaplessNatsTransporter } from "./lib/cluster/nats-transporter.ts";
import { parseNatsUrl } from "./lib/messaging/jetstream.ts";
import { DatabaseOutageMiddleware } from "./middlewares/database-outage.middleware.ts";
import { logContextFields } from "./lib/observability/log-context.ts";
import { routeThroughQueueGroups } from "./middlewares/queue-group-routing.middleware.ts";
import { TracingMiddleware } from "./middlewares/tracing.middleware.ts";

/**
 * Broker settings of one Tickets node. Everything that varies between machines comes from the
 * validated environment (config/), so this file reads as the policy of the cluster.
 */
export function brokerOptions(config: Config): BrokerOptions {
  const { servers, user, pass, token } = parseNatsUrl(config.NATS_URL);
  return {
    // Several clusters may share one NATS; the namespace keeps their services apart.
    namespace: config.NAMESPACE,
    nodeID: config.NODE_ID ?? null,

    // Actions travel over NATS (the `nats@2` package the transporter requires). Credentials in
    // NATS_URL are passed explicitly, so user/password or token auth works here as well.
    // Its queue-group subscriptions are renewed without a gap (lib/cluster/nats-transporter.ts).
    transporter: new GaplessNatsTransporter({ servers: servers.map((s) => `nats://${s}`), user, pass, token }),

    // JSON logs through pino; services log `logger.info({ fields }, "message")`.
    // `mixin` adds correlation_id and trace_id of the request or message being handled to every line.
    logger: {
      type: "Pino",
      options: { level: config.LOG_LEVEL, pino: { options: { base: { node: config.NODE_ID }, mixin: logContextFields } } },
    },
    logLevel: config.LOG_LEVEL,

    // Calls are routed by NATS queue groups, not by Moleculer's balancer. The balancer picks from
    // its registry, which lists a SIGKILLed node until its heartbeats time out, so calls sent there
    // hang until then (measured with bench/failover.ts: up to ~7 s with the 6 s timeout below).
    // A queue group delivers only to subscribers NATS still sees connected, and NATS notices a
    // killed process at once. moleculer-web picks the target endpoint itself, so the middleware
    // below hands it the action name instead (middlewares/queue-group-routing.middleware.ts).
    disableBalancer: true,
    // Moleculer waits forever by default; a call that cannot finish in time fails instead. What is
    // left of the SIGKILL window — a call already delivered to the node when it died — ends here
    // and is retried below.
    requestTimeout: config.REQUEST_TIMEOUT_MS,
    // Our actions are idempotent by design (Idempotency-Key rows, natural keys), so a call that
    // timed out on a node that died is safe to retry on another one.
    retryPolicy: {
      enabled: true,
      retries: 2,
      delay: 100,
      maxDelay: 1000,
      factor: 2,
      check: (err) => Boolean((err as { retryable?: boolean }).retryable),
    },
    // The registry (REPL `nodes`, `{ nodeID }` calls) drops a SIGKILLed node after this long.
    heartbeatInterval: 2,
    heartbeatTimeout: 6,
    registry: { strategy: "RoundRobin", preferLocal: true },
    circuitBreaker: {
      enabled: true,
      threshold: 0.5,
      minRequestCount: 20,
      windowTime: 30,
      halfOpenTime: 5_000,
      check: (err) => (err as { code?: number }).code! >= 500,
    },

    // Rendered by GET /metrics together with the application's prom-client registry (lib/observability/metrics-exposition.ts).
    metrics: { enabled: true, reporter: [] },
    // Tracing is OpenTelemetry's (lib/observability/tracing.ts), not Moleculer's own tracer.
    tracing: { enabled: false },
    // A Postgres outage answers 503 rather than 500 (middlewares/database-outage.middleware.ts).
    middlewares: [
      routeThroughQueueGroups,
      DatabaseOutageMiddleware,
      TracingMiddleware({ otlpEndpoint: config.OTEL_EXPORTER_OTLP_ENDPOINT, nodeId: config.NODE_ID }),
    ],

    // Handlers get up to 30 s to finish in-flight work on SIGTERM.
    tracking: { enabled: true, shutdownTimeout: 30_000 },
    skipProcessEventRegistration: true,
  };
}
