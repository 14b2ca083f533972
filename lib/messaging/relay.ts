import { setTimeout as sleep } from "node:timers/promises";
import type { JetStreamClient } from "@nats-io/jetstream";
import { headers as natsHeaders } from "@nats-io/transport-node";
import type { Database, Transaction } from "../database/db.ts";
import { PgListener } from "../database/listener.ts";
import { errorMessage } from "../errors.ts";
import type { Logger } from "../observability/logger.ts";
import { relayFailures, relayPublished } from "../observability/metrics.ts";
import { BatchPublisher, connectionOf } from "./publisher.ts";
import { MessageHeaders } from "./topology.ts";

interface BatchResult {
  claimed: number;
  published: number;
}

interface OutboxRow {
  seq: number;
  message_id: string;
  name: string;
  subject: string;
  payload: string;
  metadata: Record<string, string>;
}

export interface RelayOptions {
  db: Database;
  js: JetStreamClient;
  /** For the LISTEN connection, which must not come from the shared pool. */
  postgresUrl: string;
  logger: Logger;
  batchSize: number;
  pollMs: number;
}

/**
 * Moves committed outbox rows to JetStream. Rows are claimed with FOR UPDATE SKIP LOCKED, never
 * read past a cursor, so a transaction that commits late is still relayed and several relays (one
 * per node) share the work without publishing a row twice. Publishing carries Nats-Msg-Id, so a
 * relay that dies between publish and mark is deduplicated by JetStream when the row is retried.
 */
export class OutboxRelay {
  /** NOTIFY outbox wakes the loop; the poll covers the time LISTEN is lost. */
  private readonly listener: PgListener;
  /** Aborts the poll's sleep: a NOTIFY or stop() wakes the loop at once. */
  private wake = new AbortController();
  private running = false;
  private loop?: Promise<void>;
  private relayed = 0;
  /** Set by a NOTIFY that arrives while a batch is in flight, so the loop does not sleep past it. */
  private signalled = false;
  /** Only a sleeping loop is woken by aborting: an abort builds a DOMException, one per NOTIFY otherwise. */
  private sleeping = false;
  private readonly publisher: BatchPublisher;
  /** Marks of acknowledged batches still committing while the next batch goes out. */
  private readonly committing = new Set<Promise<void>>();

  constructor(private readonly options: RelayOptions) {
    this.publisher = new BatchPublisher(connectionOf(options.js));
    this.listener = new PgListener({
      postgresUrl: options.postgresUrl,
      channel: "outbox",
      applicationName: "tickets-relay",
      logger: options.logger,
      onNotification: () => this.wakeUp(),
      // rows committed while nobody listened are relayed now, not at the next poll
      onRelisten: () => this.wakeUp(),
    });
  }

  get publishedCount(): number {
    return this.relayed;
  }

  async start(): Promise<void> {
    this.running = true;
    await this.listener.start();
    this.loop = this.run();
  }

  /** Relays what is pending, then stops; rows committed later are left for another relay. */
  async stop(): Promise<void> {
    this.running = false;
    this.wake.abort();
    await this.loop;
    await this.drain();
    this.publisher.close();
    await this.listener.stop();
  }

  /** Relays batches until nothing is pending; returns how many rows were published, once their marks have committed. */
  async drain(): Promise<number> {
    const { published, committed } = await this.relayUntilShort();
    await committed;
    return published;
  }

  /**
   * Relays batches until one comes back short, claiming the next batch while the previous one
   * commits: SKIP LOCKED keeps a committing batch out of the next claim, and publishes stay in
   * commit order because a batch is claimed only once the previous one is acknowledged. Resolves
   * when the last batch is acknowledged; `committed` settles once every mark has committed.
   */
  private async relayUntilShort(): Promise<{ published: number; committed: Promise<void> }> {
    let total = 0;
    const commits: Promise<void>[] = [];
    try {
      for (;;) {
        // at most one batch commits while the next goes out: the relay holds two connections at most
        if (commits.length >= 2) await commits[commits.length - 2];
        const batch = this.relayBatch();
        commits.push(batch.committed);
        const { claimed, published } = await batch.published;
        total += published;
        if (claimed < this.options.batchSize || published === 0) {
          return { published: total, committed: Promise.all(commits).then(() => undefined) };
        }
      }
    } catch (error) {
      await Promise.allSettled(commits);
      throw error;
    }
  }

  /** Relays until the outbox is empty; on a NOTIFY meanwhile, goes again without waiting for the last commit. */
  private async run(): Promise<void> {
    while (this.running) {
      // re-armed here, before the round, so a NOTIFY during the round (or while its commit is awaited) still cuts the sleep short
      this.signalled = false;
      if (this.wake.signal.aborted) this.wake = new AbortController();
      try {
        const { committed } = await this.relayUntilShort();
        this.track(committed);
      } catch (error) {
        this.batchFailed(error);
      }
      if (!this.signalled) {
        await Promise.all(this.committing);
        await this.sleep();
      } else if (this.committing.size > 1) {
        await Promise.race(this.committing);
      }
    }
    await Promise.all(this.committing);
  }

  private track(committed: Promise<void>): void {
    const tracked = committed.catch((error) => this.batchFailed(error)).finally(() => this.committing.delete(tracked));
    this.committing.add(tracked);
  }

  private batchFailed(error: unknown): void {
    this.options.logger.warn({ err: errorMessage(error) }, "outbox relay batch failed; retrying");
  }

  /**
   * Claims a batch by marking it published in one statement (the claim's lock and the mark are one
   * row write, not two: half the relay's Postgres work per row), publishes it, and un-marks what
   * JetStream did not acknowledge, all in one transaction: other relays skip the claimed rows, and a
   * crash rolls the mark back.
   */
  private relayBatch(): { published: Promise<BatchResult>; committed: Promise<void> } {
    let acknowledged!: (result: BatchResult) => void;
    const committed = this.options.db.transaction(async (trx) => {
      acknowledged(await this.claimAndPublish(trx));
    });
    const published = new Promise<BatchResult>((resolve, reject) => {
      acknowledged = resolve;
      committed.catch(reject);
    });
    return { published, committed };
  }

  private async claimAndPublish(trx: Transaction): Promise<BatchResult> {
    const { batchSize } = this.options;
    const claimed = await trx.raw<{ rows: OutboxRow[] }>(
      `UPDATE outbox SET published_at = now()
        WHERE seq IN (SELECT seq FROM outbox WHERE published_at IS NULL ORDER BY seq LIMIT ? FOR UPDATE SKIP LOCKED)
        RETURNING seq, message_id, name, subject, payload, metadata`,
      [batchSize],
    );
    // RETURNING keeps no order; publish in commit order
    const rows = claimed.rows.sort((a, b) => a.seq - b.seq);
    if (rows.length === 0) return { claimed: 0, published: 0 };

    const outcomes = await this.publisher.publish(
      rows.map((row) => ({ subject: row.subject, payload: row.payload, msgID: row.message_id, headers: toNatsHeaders(row) })),
    );
    const failed = rows.flatMap((row, i) => {
      const error = outcomes[i];
      return error === undefined ? [] : [{ seq: row.seq, error }];
    });
    if (failed.length > 0) {
      await trx("outbox")
        .whereIn(
          "seq",
          failed.map((f) => f.seq),
        )
        .update({ published_at: null, attempts: trx.raw("attempts + 1"), last_error: failed[0]!.error });
      relayFailures.inc(failed.length);
      this.options.logger.warn({ failed: failed.length, err: failed[0]!.error }, "outbox rows not published; will retry");
    }
    const published = rows.length - failed.length;
    relayPublished.inc(published);
    this.relayed += published;
    return { claimed: rows.length, published };
  }

  private wakeUp(): void {
    this.signalled = true;
    if (this.sleeping) this.wake.abort();
  }

  private async sleep(): Promise<void> {
    // checked in the same tick as the sleep starts: a NOTIFY during the awaits before it is not slept past
    if (!this.running || this.signalled) return;
    this.sleeping = true;
    try {
      await sleep(this.options.pollMs, undefined, { signal: this.wake.signal }).catch(() => undefined);
    } finally {
      this.sleeping = false;
    }
  }
}

function toNatsHeaders(row: OutboxRow) {
  const h = natsHeaders();
  h.set(MessageHeaders.name, row.name);
  if (row.metadata.correlation_id) h.set(MessageHeaders.correlationId, row.metadata.correlation_id);
  if (row.metadata.traceparent) h.set(MessageHeaders.traceparent, row.metadata.traceparent);
  if (row.metadata.tracestate) h.set(MessageHeaders.tracestate, row.metadata.tracestate);
  return h;
}
