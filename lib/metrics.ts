import client from "prom-client";

/**
 * The application's own Prometheus metrics. Handler metrics keep the seed's names, labels and
 * summary objectives (§9) so existing dashboards keep working.
 */
export const registry = new client.Registry();

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

export const mirrorWritten = new client.Counter({
  name: "redis_mirror_entries_total",
  help: "Messages mirrored into Redis Streams",
  registers: [registry],
});
