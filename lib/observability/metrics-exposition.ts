import type { MsgRequest } from "@nats-io/jetstream";
import client from "prom-client";
import type { ServiceBroker } from "moleculer";
import { errorMessage } from "../errors.ts";
import { registry } from "./metrics.ts";
import { durableConsumers } from "../inspection/consumer-status.ts";
import type { Logger } from "./logger.ts";
import type { Runtime } from "../runtime.ts";
import { withTimeout } from "../timeout.ts";

/** The Content-Type of the text exposition every /metrics answers with. */
export const METRICS_CONTENT_TYPE = registry.contentType;

/**
 * One Prometheus text exposition for a node: Moleculer's own metrics (requests, latency, errors
 * per action), the application registry (handler, relay, HTTP and Node.js metrics) and the values
 * read at scrape time (outbox backlog, dead letters, durable consumer lag, mirror lag). A
 * dependency that cannot answer never fails the scrape: its series are left out and
 * `tickets_metrics_source_up` says 0.
 */
export async function renderMetrics(broker: ServiceBroker, runtime: Runtime): Promise<string> {
  const [application, scraped] = await Promise.all([registry.metrics(), scrapeTimeMetrics(runtime, broker.getLogger("metrics"))]);
  return `${[application.trimEnd(), scraped.trimEnd(), renderMoleculerMetrics(broker).trimEnd()].join("\n")}\n`;
}

// ---------- values read at scrape time ----------

const SOURCE_TIMEOUT_MS = 2_000;

/**
 * A fresh registry per scrape: a value that could not be read is absent rather than stale or 0,
 * and several nodes sharing one process (tests) each report their own database.
 */
async function scrapeTimeMetrics(runtime: Runtime, logger: Logger): Promise<string> {
  const registers = [new client.Registry()];
  const sourceUp = new client.Gauge({
    name: "tickets_metrics_source_up",
    help: "1 when the scrape-time values of a source could be read, 0 when it did not answer",
    labelNames: ["source"],
    registers,
  });
  const { mirror } = runtime;

  const postgres = withTimeout(
    Promise.all([
      // Cheap: the partial index of pending rows, and a table that is empty when things are well.
      runtime.db.raw<{ rows: { pending: number; oldest_age: number | null }[] }>(
        `SELECT count(*)::int AS pending, extract(epoch FROM clock_timestamp() - min(created_at))::float8 AS oldest_age
           FROM outbox WHERE published_at IS NULL`,
      ),
      runtime.db.raw<{ rows: { handler: string; n: number }[] }>(`SELECT handler, count(*)::int AS n FROM dead_letters GROUP BY handler`),
    ]),
    SOURCE_TIMEOUT_MS,
  ).then(
    ([backlog, deadLetters]) => {
      const { pending, oldest_age } = backlog.rows[0]!;
      new client.Gauge({
        name: "outbox_pending_messages",
        help: "Outbox rows committed but not yet published to JetStream (backlog)",
        registers,
      }).set(pending);
      new client.Gauge({
        name: "outbox_oldest_pending_age_seconds",
        help: "Age of the oldest unpublished outbox row; 0 when nothing is pending",
        registers,
      }).set(Math.max(0, oldest_age ?? 0));
      const dead = new client.Gauge({
        name: "dead_letter_messages",
        help: "Messages in the dead-letter store, by durable handler",
        labelNames: ["handler"],
        registers,
      });
      for (const row of deadLetters.rows) dead.set({ handler: row.handler }, row.n);
      sourceUp.set({ source: "postgres" }, 1);
    },
    (error) => {
      logger.warn({ err: errorMessage(error) }, "metrics: outbox and dead-letter values unavailable");
      sourceUp.set({ source: "postgres" }, 0);
    },
  );

  if (mirror) {
    const totals = new client.Counter({
      name: "redis_mirror_messages_total",
      help: "Messages the Redis mirror of this node handled since start, by outcome (mirrored, skipped, errors)",
      labelNames: ["outcome"],
      registers,
    });
    for (const [outcome, value] of Object.entries(mirror.stats)) totals.inc({ outcome }, value);
  }
  const mirrored = mirror
    ? withTimeout(mirror.lag(), SOURCE_TIMEOUT_MS).then(
        (lag) => {
          const gauge = new client.Gauge({
            name: "redis_mirror_lag_messages",
            help: "JetStream messages not yet mirrored into Redis Streams, by stream",
            labelNames: ["stream"],
            registers,
          });
          for (const { stream, lastSeq, mirroredSeq } of lag) gauge.set({ stream }, Math.max(0, lastSeq - mirroredSeq));
          sourceUp.set({ source: "redis_mirror" }, 1);
        },
        (error) => {
          logger.warn({ err: errorMessage(error) }, "metrics: Redis mirror lag unavailable");
          sourceUp.set({ source: "redis_mirror" }, 0);
        },
      )
    : undefined;

  const jetstream = withTimeout(consumerFigures(runtime), SOURCE_TIMEOUT_MS).then(
    (consumers) => {
      const labelNames = ["stream", "durable"];
      const pending = new client.Gauge({
        name: "jetstream_consumer_pending_messages",
        help: "Messages not yet delivered to a durable consumer (its lag)",
        labelNames,
        registers,
      });
      const ackPending = new client.Gauge({
        name: "jetstream_consumer_ack_pending_messages",
        help: "Messages delivered to a durable and not acknowledged yet (in flight or waiting for a retry)",
        labelNames,
        registers,
      });
      const redelivered = new client.Gauge({
        name: "jetstream_consumer_redelivered_messages",
        help: "Unacknowledged messages of a durable that were delivered more than once",
        labelNames,
        registers,
      });
      const oldest = new client.Gauge({
        name: "jetstream_consumer_oldest_unacked_age_seconds",
        help: "Age of the oldest message a durable has not acknowledged; 0 when it is caught up",
        labelNames,
        registers,
      });
      for (const consumer of consumers) {
        const labels = { stream: consumer.stream, durable: consumer.durable };
        pending.set(labels, consumer.pending);
        ackPending.set(labels, consumer.ackPending);
        redelivered.set(labels, consumer.redelivered);
        oldest.set(labels, consumer.oldestUnackedAgeSeconds);
      }
      sourceUp.set({ source: "jetstream" }, 1);
    },
    (error) => {
      logger.warn({ err: errorMessage(error) }, "metrics: JetStream consumer figures unavailable");
      sourceUp.set({ source: "jetstream" }, 0);
    },
  );

  await Promise.all([postgres, mirrored, jetstream]);
  return registers[0]!.metrics();
}

interface ConsumerFigures {
  stream: string;
  durable: string;
  pending: number;
  ackPending: number;
  redelivered: number;
  oldestUnackedAgeSeconds: number;
}

/**
 * Every durable of the namespace's streams. The oldest unacknowledged message is the first one of
 * the durable's subject after its ack floor; one direct lookup per durable that is behind.
 */
async function consumerFigures(runtime: Runtime): Promise<ConsumerFigures[]> {
  const { jsm } = runtime.backbone;
  const figures: ConsumerFigures[] = [];
  for (const { stream, durable, info } of await durableConsumers(jsm, runtime.topology)) {
    let oldestUnackedAgeSeconds = 0;
    if (info.num_pending + info.num_ack_pending > 0) {
      // STREAM.MSG.GET takes next_by_subj (nats-server 2.9+); the client types it only for direct gets.
      const next = { next_by_subj: info.config.filter_subject ?? ">", seq: info.ack_floor.stream_seq + 1 } as unknown as MsgRequest;
      const oldest = await jsm.streams.getMessage(stream, next);
      if (oldest) oldestUnackedAgeSeconds = Math.max(0, (Date.now() - oldest.time.getTime()) / 1000);
    }
    figures.push({
      stream,
      durable,
      pending: info.num_pending,
      ackPending: info.num_ack_pending,
      redelivered: info.num_redelivered,
      oldestUnackedAgeSeconds,
    });
  }
  return figures;
}

// ---------- Moleculer's registry ----------

interface MoleculerMetricItem {
  labels: Record<string, unknown>;
  value?: unknown;
  count?: number;
  sum?: number;
  buckets?: Record<string, number>;
}

interface MoleculerMetric {
  name: string;
  type: "counter" | "gauge" | "histogram" | "info";
  description?: string;
  unit?: string;
  snapshot(): MoleculerMetricItem[];
}

/**
 * Moleculer's `moleculer.*` metrics in the text format. Its PrometheusReporter would open a port of
 * its own and writes quantile, min and mean lines under a histogram TYPE, which the format does not
 * allow; histograms here carry only buckets, sum and count (quantiles come from histogram_quantile).
 * Process and OS figures come from prom-client's default metrics instead of Moleculer's.
 */
export function renderMoleculerMetrics(broker: ServiceBroker): string {
  const store = (broker.metrics as unknown as { store: Map<string, MoleculerMetric> }).store;
  const common = { namespace: broker.namespace, nodeID: broker.nodeID };
  const lines: string[] = [];
  for (const metric of store.values()) {
    if (!metric.name.startsWith("moleculer.")) continue;
    const items = metric.snapshot();
    if (items.length === 0) continue;
    const name = metric.name.replace(/[.-]/g, "_");
    const help = (metric.description ?? metric.name) + (metric.unit ? ` (${metric.unit})` : "");
    lines.push(`# HELP ${name} ${escapeHelp(help)}`, `# TYPE ${name} ${metric.type === "info" ? "gauge" : metric.type}`);
    for (const item of items) {
      const labels = { ...common, ...item.labels };
      if (metric.type === "histogram") {
        const bounds = Object.keys(item.buckets ?? {}).sort((a, b) => Number(a) - Number(b));
        for (const le of bounds) lines.push(`${name}_bucket${labelText({ ...labels, le })} ${num(item.buckets![le])}`);
        lines.push(`${name}_bucket${labelText({ ...labels, le: "+Inf" })} ${num(item.count)}`);
        lines.push(`${name}_sum${labelText(labels)} ${num(item.sum)}`, `${name}_count${labelText(labels)} ${num(item.count)}`);
      } else if (metric.type === "info") {
        lines.push(`${name}${labelText({ ...labels, value: item.value })} 1`);
      } else {
        lines.push(`${name}${labelText(labels)} ${num(item.value)}`);
      }
    }
  }
  return `${lines.join("\n")}\n`;
}

function labelText(labels: Record<string, unknown>): string {
  const pairs = Object.entries(labels).map(([key, value]) => `${key}="${escapeLabel(value == null ? "" : String(value))}"`);
  return pairs.length > 0 ? `{${pairs.join(",")}}` : "";
}

const escapeLabel = (value: string) => value.replace(/\\/g, "\\\\").replace(/"/g, '\\"').replace(/\n/g, "\\n");
const escapeHelp = (value: string) => value.replace(/\\/g, "\\\\").replace(/\n/g, "\\n");
const num = (value: unknown) =>
  typeof value !== "number" || Number.isNaN(value) ? "NaN" : value === Infinity ? "+Inf" : value === -Infinity ? "-Inf" : String(value);
