import { z } from "zod";

/** Every setting of a node, read from the environment once at start-up. */
const csv = (fallback: string) =>
  z
    .string()
    .default(fallback)
    .transform((s) =>
      s
        .split(",")
        .map((part) => part.trim())
        .filter(Boolean),
    );

const positiveInt = (fallback: number) => z.coerce.number().int().positive().default(fallback);
const nonNegativeInt = (fallback: number) => z.coerce.number().int().nonnegative().default(fallback);

/** The Moleculer names of the services a node can run, as `nodes`/`services` at the REPL and the metrics show them. */
/** The HTTP front door's Moleculer name. */
export const API_GATEWAY = "api-gateway";

export const ALL_SERVICES = [API_GATEWAY, "tickets", "shows", "bookings", "refunds", "ops", "datalake", "admin"] as const;
export type ServiceName = (typeof ALL_SERVICES)[number];

/** Short names SERVICES also takes (the ones it took first). */
const SERVICE_ALIASES: Record<string, ServiceName> = { api: "api-gateway" };

export const EnvSchema = z.object({
  POSTGRES_URL: z.url().default("postgres://postgres@127.0.0.1:5432/test"),
  /** Connections of this node's pool for the HTTP API, the relay and short handler queries. */
  POSTGRES_POOL_MAX: positiveInt(20),
  /**
   * Connections of the handlers' own pool, which hold one (in a transaction) across a gateway call;
   * also the node's limit on handlers running at once, so a slow partner queues handlers, not the API.
   */
  HANDLER_POOL_MAX: positiveInt(10),
  /** Longest a statement may run, a lock may be waited for, and a transaction may sit idle. */
  POSTGRES_STATEMENT_TIMEOUT_MS: positiveInt(30_000),
  POSTGRES_LOCK_TIMEOUT_MS: positiveInt(15_000),
  POSTGRES_IDLE_IN_TRANSACTION_TIMEOUT_MS: positiveInt(60_000),
  NATS_URL: z.string().min(1).default("nats://127.0.0.1:4222"),
  REDIS_URL: z.url().default("redis://127.0.0.1:6379"),
  /** Unset ⇒ this node starts the built-in gateway simulator and talks to it. */
  GATEWAY_URL: z.url().optional(),
  PORT: z.coerce.number().int().min(0).max(65535).default(8080),
  /** Port of the built-in gateway simulator (only when GATEWAY_URL is unset). */
  GATEWAY_SIMULATOR_PORT: z.coerce.number().int().min(0).max(65535).default(8888),
  /** Services this node runs, by Moleculer name or alias (`api`); `all` means every one. */
  SERVICES: csv("all"),
  NODE_ID: z.string().min(1).optional(),
  /** Isolates clusters (Moleculer namespace, JetStream streams/subjects, Redis keys) sharing servers. */
  NAMESPACE: z
    .string()
    .regex(/^[A-Za-z0-9_-]*$/, "letters, digits, _ and - only")
    .default(""),
  LOG_LEVEL: z.enum(["fatal", "error", "warn", "info", "debug", "trace"]).default("info"),
  OTEL_EXPORTER_OTLP_ENDPOINT: z.url().optional(),
  /** An admin API token that needs no user (Bearer); setting it switches access control on. */
  ADMIN_TOKEN: z.string().min(16, "must be at least 16 characters").optional(),
  /** Shared with Dead Nation: callbacks carry `Tickets-Signature` made with it; setting it switches access control on. */
  PARTNER_SIGNING_SECRET: z.string().min(16, "must be at least 16 characters").optional(),
  /** Bearer token a Prometheus scraper presents for /metrics and the detailed /ready of the api port. */
  METRICS_TOKEN: z.string().min(16, "must be at least 16 characters").optional(),
  /**
   * How long a gateway trusts an API token it has checked without asking Postgres again. Revokes,
   * role changes and removed users reach every gateway at once by NOTIFY; this bounds the rest
   * (a notice lost with a connection nobody saw break). 0: every request asks Postgres.
   */
  API_TOKEN_CACHE_MS: nonNegativeInt(30_000),
  /** How long a console sign-in lasts. */
  SESSION_TTL_MS: positiveInt(8 * 60 * 60_000),
  /** Per client and window, shared by every gateway node (Redis): sign-in attempts, failed credential checks, anonymous calls. */
  RATE_LIMIT_WINDOW_MS: positiveInt(60_000),
  RATE_LIMIT_SIGN_IN: positiveInt(10),
  RATE_LIMIT_AUTH_FAILURES: positiveInt(20),
  RATE_LIMIT_ANONYMOUS: positiveInt(300),
  /** Port of this node's own /metrics, /health and /ready (for nodes without the api-gateway); unset ⇒ none. */
  METRICS_PORT: z.coerce.number().int().min(0).max(65535).optional(),
  /** Origins allowed to call the API cross-origin; empty ⇒ CORS off (the web UI is same-origin). */
  CORS_ORIGINS: csv("").pipe(z.array(z.url("each origin must be a URL like http://localhost:3000"))),
  /** A client that has not sent all its headers, or its whole request, by then gets a 408 and is disconnected. */
  HTTP_HEADERS_TIMEOUT_MS: positiveInt(10_000),
  HTTP_REQUEST_TIMEOUT_MS: positiveInt(20_000),
  /** A socket silent this long is closed; above REQUEST_TIMEOUT_MS so a slow action still answers. */
  HTTP_IDLE_TIMEOUT_MS: positiveInt(30_000),

  /**
   * Copies of every stream message. 1 (a developer machine) keeps one file copy: an OS crash can lose
   * messages JetStream acknowledged and the relay already marked published. Production sets 3.
   */
  JETSTREAM_REPLICAS: positiveInt(1),
  /** How long the EVENTS and COMMANDS streams keep a message (their max age). */
  JETSTREAM_MAX_AGE_MS: positiveInt(7 * 24 * 3_600_000),
  /** How long JetStream remembers a Nats-Msg-Id; covers a relay restart. */
  JETSTREAM_DUPLICATE_WINDOW_MS: positiveInt(10 * 60_000),
  OUTBOX_BATCH_SIZE: positiveInt(1000),
  OUTBOX_POLL_MS: positiveInt(500),
  OUTBOX_RETENTION_MS: positiveInt(60 * 60_000),
  /** How long an Idempotency-Key (or an implicit per-request key) answers replays. */
  IDEMPOTENCY_RETENTION_MS: positiveInt(24 * 60 * 60_000),
  /** How long the implicit per-request key of a call without Idempotency-Key guards Moleculer's retries of it. */
  IDEMPOTENCY_IMPLICIT_RETENTION_MS: positiveInt(10 * 60_000),
  /** How long an inbox marker (processed_messages) is kept; must outlive the streams' max age and duplicate window. */
  INBOX_RETENTION_MS: positiveInt(8 * 24 * 3_600_000),
  HOUSEKEEPING_INTERVAL_MS: positiveInt(60_000),
  /** Rows per housekeeping DELETE; a pass loops until a batch comes back short. */
  HOUSEKEEPING_BATCH_SIZE: positiveInt(10_000),
  /**
   * How long a failing message keeps being retried, counted in the waits between its deliveries,
   * before it goes to the dead letters: long enough to ride out an ordinary partner outage.
   */
  CONSUMER_RETRY_BUDGET_MS: positiveInt(15 * 60_000),
  CONSUMER_BACKOFF_MS: csv("400,800,1000").pipe(
    z.array(z.string().regex(/^\d+$/, "comma-separated milliseconds").transform(Number)).min(1),
  ),
  CONSUMER_BACKOFF_MAX_MS: positiveInt(30_000),
  CONSUMER_ACK_WAIT_MS: positiveInt(30_000),
  CONSUMER_CONCURRENCY: positiveInt(16),
  GATEWAY_TIMEOUT_MS: positiveInt(5_000),
  /**
   * After a call that went unanswered, how long the partner is given to finish applying it before a
   * later attempt of the same effect reads it back or calls again (handlers with attempt records).
   */
  GATEWAY_SETTLE_MS: positiveInt(15_000),
  /** Consecutive outage answers (no answer, 5xx, 429) after which a partner gets no calls for a cool-down. */
  GATEWAY_BREAKER_FAILURES: positiveInt(5),
  GATEWAY_BREAKER_COOLDOWN_MS: positiveInt(1_000),
  GATEWAY_BREAKER_MAX_COOLDOWN_MS: positiveInt(30_000),
  REDIS_MIRROR_MAXLEN: nonNegativeInt(0),
  /** Mirrored Redis entries older than this are trimmed (XADD MINID); at most the streams' max age. */
  REDIS_MIRROR_MAX_AGE_MS: positiveInt(24 * 3_600_000),
  /** How long the mirror recognises a JetStream duplicate (same message id, new sequence) after its original. */
  REDIS_MIRROR_DEDUPE_WINDOW_MS: positiveInt(3_600_000),
  REQUEST_TIMEOUT_MS: positiveInt(10_000),
});

export type Config = z.infer<typeof EnvSchema>;

export class ConfigError extends Error {}

/** Parses the environment; a bad value is one readable line naming the variable. */
export function loadConfig(env: NodeJS.ProcessEnv = process.env): Config {
  const present = Object.fromEntries(Object.entries(env).filter(([, value]) => value !== ""));
  const parsed = EnvSchema.safeParse(present);
  if (!parsed.success) {
    const problems = parsed.error.issues.map((issue) => `${issue.path.join(".")}: ${issue.message}`);
    throw new ConfigError(`invalid configuration: ${problems.join("; ")}`);
  }
  const config = parsed.data;
  const unknown = config.SERVICES.filter((s) => s !== "all" && !serviceNamed(s));
  if (unknown.length > 0) {
    const aliases = Object.entries(SERVICE_ALIASES).map(([alias, name]) => `${alias} for ${name}`);
    throw new ConfigError(
      `invalid configuration: SERVICES: unknown ${unknown.join(", ")} (known: ${ALL_SERVICES.join(", ")}, all; aliases: ${aliases.join(", ")})`,
    );
  }
  for (const problem of retentionProblems(config)) throw new ConfigError(`invalid configuration: ${problem}`);
  return config;
}

/** Orderings between timeouts and retentions that the system relies on. */
function retentionProblems(config: Config): string[] {
  const rules: [broken: boolean, problem: string][] = [
    [config.GATEWAY_TIMEOUT_MS >= config.CONSUMER_ACK_WAIT_MS, "GATEWAY_TIMEOUT_MS must be well under CONSUMER_ACK_WAIT_MS"],
    [
      // a handler's transaction waits idle for its gateway call
      config.POSTGRES_IDLE_IN_TRANSACTION_TIMEOUT_MS <= config.GATEWAY_TIMEOUT_MS,
      "POSTGRES_IDLE_IN_TRANSACTION_TIMEOUT_MS must exceed GATEWAY_TIMEOUT_MS",
    ],
    [
      config.INBOX_RETENTION_MS <= Math.max(config.JETSTREAM_MAX_AGE_MS, config.JETSTREAM_DUPLICATE_WINDOW_MS),
      "INBOX_RETENTION_MS must be longer than JETSTREAM_MAX_AGE_MS and JETSTREAM_DUPLICATE_WINDOW_MS (a message still in a stream must find its marker)",
    ],
    [
      config.IDEMPOTENCY_IMPLICIT_RETENTION_MS <= config.REQUEST_TIMEOUT_MS,
      "IDEMPOTENCY_IMPLICIT_RETENTION_MS must be longer than REQUEST_TIMEOUT_MS (a retried call must find its key)",
    ],
    [config.REDIS_MIRROR_MAX_AGE_MS > config.JETSTREAM_MAX_AGE_MS, "REDIS_MIRROR_MAX_AGE_MS must not exceed JETSTREAM_MAX_AGE_MS"],
    [
      // JetStream drops a message at its max age whether or not it was acknowledged
      config.CONSUMER_RETRY_BUDGET_MS >= config.JETSTREAM_MAX_AGE_MS,
      "CONSUMER_RETRY_BUDGET_MS must be shorter than JETSTREAM_MAX_AGE_MS (a message being retried must still be in its stream)",
    ],
  ];
  return rules.filter(([broken]) => broken).map(([, problem]) => problem);
}

function serviceNamed(name: string): ServiceName | undefined {
  return (ALL_SERVICES as readonly string[]).includes(name) ? (name as ServiceName) : SERVICE_ALIASES[name];
}

/** The services the node runs, each once, by Moleculer name; loadConfig has refused any unknown name. */
export function servicesOf(config: Config): ServiceName[] {
  if (config.SERVICES.includes("all")) return [...ALL_SERVICES];
  return [...new Set(config.SERVICES.map((name) => serviceNamed(name)!))];
}
