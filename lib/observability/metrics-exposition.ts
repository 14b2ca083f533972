import type { MsgRequest } from "@nats-io/jetstream";
import type { ServiceBroker } from "moleculer";
import client from "prom-client";
import { errorMessage } from "../errors.ts";
import { durableConsumers } from "../inspection/consumer-status.ts";
import { outboxBacklog } from "../inspection/outbox-status.ts";
import { deadLetterCounts } from "../messaging/dead-letters.ts";
import type { Runtime } from "../runtime.ts";
import { withTimeout } from "../timeout.ts";
import type { Logger } from "./logger.ts";
import { registry } from "./metrics.ts";
import { renderMoleculerMetrics } from "./moleculer-metrics.ts";

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

const SOURCE_TIMEOUT_MS = 2_000;

type Registers = client.Registry[];

/** A source of scrape-time series: reads its values, then registers the gauges that show them. */
interface ScrapeSource {
  name: string;
  read(runtime: Runtime): Promise<(registers: Registers) => void>;
}

/**
 * A fresh registry per scrape: a value that could not be read is absent rather than stale or 0
 * (prom-client's `collect()` gauges report 0 for an unlabelled gauge they could not fill), and
 * several nodes sharing one process (tests) each report their own database.
 */
async function scrapeTimeMetrics(runtime: Runtime, logger: Logger): Promise<string> {
  const registers = [new client.Registry()];
  const sourceUp = new client.Gauge({
    name: "tickets_metrics_source_up",
    help: "1 when the scrape-time values of a source could be read, 0 when it did not answer",
    labelNames: ["source"],
    registers,
  });
  const sources = [postgresSource, ...(runtime.mirror ? [mirrorSource] : []), jetstreamSource];
  await Promise.all(
    sources.map(async (source) => {
      try {
        const show = await withTimeout(source.read(runtime), SOURCE_TIMEOUT_MS);
        show(registers);
        sourceUp.set({ source: source.name }, 1);
      } catch (error) {
        logger.warn({ err: errorMessage(error), source: source.name }, "metrics: scrape-time values unavailable");
        sourceUp.set({ source: source.name }, 0);
      }
    }),
  );
  if (runtime.mirror) mirrorTotals(runtime.mirror.stats, registers);
  return registers[0]!.metrics();
}

function gauge(registers: Registers, name: string, help: string, labelNames: string[] = []) {
  return new client.Gauge({ name, help, labelNames, registers });
}

const postgresSource: ScrapeSource = {
  name: "postgres",
  async read({ db }) {
    const [backlog, deadLetters] = await Promise.all([outboxBacklog(db), deadLetterCounts(db)]);
    return (registers) => {
      gauge(registers, "outbox_pending_messages", "Outbox rows committed but not yet published to JetStream (backlog)").set(
        backlog.pending,
      );
      gauge(registers, "outbox_oldest_pending_age_seconds", "Age of the oldest unpublished outbox row; 0 when nothing is pending").set(
        (backlog.oldestPendingAgeMs ?? 0) / 1000,
      );
      const dead = gauge(registers, "dead_letter_messages", "Messages in the dead-letter store, by durable handler", ["handler"]);
      for (const [handler, n] of deadLetters) dead.set({ handler }, n);
    };
  },
};

const mirrorSource: ScrapeSource = {
  name: "redis_mirror",
  async read({ mirror }) {
    const lag = await mirror!.lag();
    return (registers) => {
      const behind = gauge(registers, "redis_mirror_lag_messages", "JetStream messages not yet mirrored into Redis Streams, by stream", [
        "stream",
      ]);
      for (const { stream, lastSeq, mirroredSeq } of lag) behind.set({ stream }, Math.max(0, lastSeq - mirroredSeq));
    };
  },
};

function mirrorTotals(stats: Record<string, number>, registers: Registers): void {
  const totals = new client.Counter({
    name: "redis_mirror_messages_total",
    help: "Messages the Redis mirror of this node handled since start, by outcome (mirrored, skipped, errors)",
    labelNames: ["outcome"],
    registers,
  });
  for (const [outcome, value] of Object.entries(stats)) totals.inc({ outcome }, value);
}

const jetstreamSource: ScrapeSource = {
  name: "jetstream",
  async read(runtime) {
    const consumers = await consumerFigures(runtime);
    return (registers) => {
      const labels = ["stream", "durable"];
      const pending = gauge(
        registers,
        "jetstream_consumer_pending_messages",
        "Messages not yet delivered to a durable consumer (its lag)",
        labels,
      );
      const ackPending = gauge(
        registers,
        "jetstream_consumer_ack_pending_messages",
        "Messages delivered to a durable and not acknowledged yet (in flight or waiting for a retry)",
        labels,
      );
      const redelivered = gauge(
        registers,
        "jetstream_consumer_redelivered_messages",
        "Unacknowledged messages of a durable that were delivered more than once",
        labels,
      );
      const oldest = gauge(
        registers,
        "jetstream_consumer_oldest_unacked_age_seconds",
        "Age of the oldest message a durable has not acknowledged; 0 when it is caught up",
        labels,
      );
      for (const consumer of consumers) {
        const at = { stream: consumer.stream, durable: consumer.durable };
        pending.set(at, consumer.pending);
        ackPending.set(at, consumer.ackPending);
        redelivered.set(at, consumer.redelivered);
        oldest.set(at, consumer.oldestUnackedAgeSeconds);
      }
    };
  },
};

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
