import client from "prom-client";

/**
 * The application's own Prometheus metrics. Handler metrics keep the original system's names, labels and
 * summary objectives so existing dashboards keep working.
 */
export const registry = new client.Registry();

// Node.js process and runtime metrics (the original exported Go's); once per process, like the registry.
client.collectDefaultMetrics({ register: registry });

const labelNames = ["topic", "handler"] as const;

export const messagesProcessed = new client.Counter({
  name: "messages_processed_total",
  help: "Messages processed, every attempt counted",
  labelNames,
  registers: [registry],
});

export const messagesFailed = new client.Counter({
  name: "messages_processing_failed_total",
  help: "Message processing attempts that failed",
  labelNames,
  registers: [registry],
});

export const messageDuration = new client.Summary({
  name: "messages_processing_duration_seconds",
  help: "Time spent handling one message attempt",
  labelNames,
  percentiles: [0.5, 0.9, 0.99],
  maxAgeSeconds: 600,
  ageBuckets: 5,
  registers: [registry],
});

export const messagesDeadLettered = new client.Counter({
  name: "messages_dead_lettered_total",
  help: "Messages moved to the dead-letter store",
  labelNames,
  registers: [registry],
});

export const relayPublished = new client.Counter({
  name: "outbox_relay_published_total",
  help: "Outbox rows published to JetStream and marked",
  registers: [registry],
});

export const relayFailures = new client.Counter({
  name: "outbox_relay_publish_failures_total",
  help: "Outbox rows whose JetStream publish failed (retried later)",
  registers: [registry],
});

const httpLabelNames = ["method", "route", "status"] as const;

/** `route` is the matched alias (`/api/ops/bookings/:id`), never the raw URL, to keep cardinality bounded. */
export const httpRequests = new client.Counter({
  name: "http_requests_total",
  help: "HTTP requests answered by the api-gateway, by route alias and status",
  labelNames: httpLabelNames,
  registers: [registry],
});

export const httpRequestDuration = new client.Histogram({
  name: "http_request_duration_seconds",
  help: "Time to answer an HTTP request, by route alias and status",
  labelNames: httpLabelNames,
  buckets: [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10],
  registers: [registry],
});

export const housekeepingRemoved = new client.Counter({
  name: "housekeeping_rows_removed_total",
  help: "Expired rows removed by housekeeping, by table",
  labelNames: ["table"] as const,
  registers: [registry],
});

export const housekeepingFailures = new client.Counter({
  name: "housekeeping_failures_total",
  help: "Housekeeping passes of a table that failed (retried at the next pass)",
  labelNames: ["table"] as const,
  registers: [registry],
});
