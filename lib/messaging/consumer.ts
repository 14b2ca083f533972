import {
  AckPolicy,
  DeliverPolicy,
  type ConsumerMessages,
  type JetStreamClient,
  type JetStreamManager,
  type JsMsg,
} from "@nats-io/jetstream";
import { nanos } from "@nats-io/transport-node";
import type { Config } from "../../config/index.ts";
import type { MessageContract, PayloadOf } from "../../contracts/index.ts";
import { errorMessage, isPermanent, PermanentError } from "../errors.ts";
import type { Logger } from "../observability/logger.ts";
import { messageDuration, messagesDeadLettered, messagesFailed, messagesProcessed } from "../observability/metrics.ts";
import { MessageHeaders } from "./topology.ts";
import { setTimeout as sleep } from "node:timers/promises";
import { inHandlerSpan, inHandlerSpans } from "../observability/tracing.ts";

/** One message as a handler sees it, with what it needs to continue the trace and correlation. */
export interface Delivery {
  messageId: string;
  name: string;
  subject: string;
  correlationId?: string;
  traceparent?: string;
  tracestate?: string;
  /** 1 on the first delivery. */
  deliveryCount: number;
  /** The raw payload exactly as published. */
  raw: string;
  /** Set when an operator replays it from the dead letters. */
  replayed?: boolean;
}

export interface DeadLetter {
  delivery: Delivery;
  error: string;
}

export interface RetryPolicy {
  /** Time a failing message is retried for, summed over the waits between its deliveries. */
  budgetMs: number;
  /** Delays before the 2nd, 3rd, … delivery; past the list it doubles up to backoffMaxMs. */
  backoffMs: number[];
  backoffMaxMs: number;
}

export function retryPolicyOf(config: Config): RetryPolicy {
  return { budgetMs: config.CONSUMER_RETRY_BUDGET_MS, backoffMs: config.CONSUMER_BACKOFF_MS, backoffMaxMs: config.CONSUMER_BACKOFF_MAX_MS };
}

/**
 * The delivery at which a failing message has been retried for its whole budget and goes to the dead
 * letters. The budget is counted in backoff waits (handler time comes on top), so it is time, not a
 * count: a longer backoff cap means fewer deliveries for the same budget.
 */
export function maxDeliveries(policy: RetryPolicy): number {
  let waited = 0;
  let delivery = 1;
  while (waited < policy.budgetMs) waited += retryDelay(policy, delivery++);
  return delivery;
}

/** Of a node's configuration. */
export const maxDeliveriesOf = (config: Config): number => maxDeliveries(retryPolicyOf(config));

export interface ConsumerOptions<C extends MessageContract> {
  js: JetStreamClient;
  jsm: JetStreamManager;
  stream: string;
  subject: string;
  /** Durable name shared by every instance of the handler on every node. */
  durable: string;
  /** The contract of a delivery: fixed for one message name, looked up by name for a wildcard subject. */
  contractOf(delivery: Delivery): C;
  retry: RetryPolicy;
  ackWaitMs: number;
  concurrency: number;
  logger: Logger;
  /** Metric label; the original's handler names. */
  handlerName: string;
  handle(payload: PayloadOf<C>, delivery: Delivery): Promise<void>;
  /**
   * With it, the messages that arrive together (up to `concurrency`) are handled in one call. A
   * batch that fails is handled again message by message with `handle`, so each keeps its own
   * retries and dead letter; a message that breaks its contract never joins a batch.
   */
  handleBatch?(batch: Handled<C>[]): Promise<void>;
  deadLetter(letter: DeadLetter): Promise<void>;
}

/** One message of a batch: its payload, decoded, and its delivery. */
export interface Handled<C extends MessageContract = MessageContract> {
  payload: PayloadOf<C>;
  delivery: Delivery;
}

/** Pause before reopening a consume that ended or failed, so a lasting fault does not spin. */
const REOPEN_DELAY_MS = 1_000;

/** A handler still running after this many ack waits is logged once: it holds its message (and a handler slot). */
const LONG_RUNNING_ACK_WAITS = 4;

/** The durable consumer (and inbox and dead-letter handler name) of one service's handler. */
export function durableName(service: string, handler: string): string {
  return `${service}-${handler}`.replace(/[^A-Za-z0-9_-]/g, "_");
}

export function retryDelay(policy: RetryPolicy, deliveryCount: number): number {
  const { backoffMs, backoffMaxMs } = policy;
  const step = deliveryCount - 1;
  if (step < backoffMs.length) return backoffMs[step]!;
  return Math.min(backoffMaxMs, backoffMs[backoffMs.length - 1]! * 2 ** (step - backoffMs.length + 1));
}

/** Parses and validates a payload; anything malformed is permanent, it will never parse later. */
export function decodePayload<C extends MessageContract>(contract: C, raw: string): PayloadOf<C> {
  let json: unknown;
  try {
    json = JSON.parse(raw);
  } catch {
    throw new PermanentError(`payload is not JSON`);
  }
  const parsed = contract.schema.safeParse(json);
  if (!parsed.success) {
    const first = parsed.error.issues[0]!;
    throw new PermanentError(`payload breaks contract ${contract.name}: ${first.path.join(".")}: ${first.message}`);
  }
  return parsed.data as PayloadOf<C>;
}

function toDelivery(msg: JsMsg): Delivery {
  const header = (key: string) => msg.headers?.get(key) || undefined;
  return {
    messageId: header(MessageHeaders.messageId) ?? `${msg.info.stream}:${msg.seq}`,
    name: header(MessageHeaders.name) ?? msg.subject.split(".").pop()!,
    subject: msg.subject,
    correlationId: header(MessageHeaders.correlationId),
    traceparent: header(MessageHeaders.traceparent),
    tracestate: header(MessageHeaders.tracestate),
    deliveryCount: msg.info.deliveryCount,
    raw: msg.string(),
  };
}

/**
 * A durable JetStream pull consumer running one handler: explicit ack, retries with backoff,
 * dead letters after the delivery budget (or at once for permanent errors), per-handler metrics.
 * Every instance on every node pulls from the same durable, so the work spreads across nodes.
 */
export class MessageConsumer<C extends MessageContract> {
  private messages?: ConsumerMessages;
  private readonly inFlight = new Set<Promise<void>>();
  /** Messages waiting to be handled as one batch (with `handleBatch`). */
  private collecting: JsMsg[] = [];
  private stopping = false;
  private loop?: Promise<void>;

  constructor(private readonly options: ConsumerOptions<C>) {}

  async start(): Promise<void> {
    const { jsm, stream, durable, subject, ackWaitMs, concurrency } = this.options;
    const config = {
      durable_name: durable,
      filter_subject: subject,
      ack_policy: AckPolicy.Explicit,
      deliver_policy: DeliverPolicy.All,
      ack_wait: nanos(ackWaitMs),
      // one above ours: the server stops redelivering only if this node died on its last delivery
      max_deliver: maxDeliveries(this.options.retry) + 1,
      max_ack_pending: Math.max(1000, concurrency * 4),
    };
    const existing = await jsm.consumers.info(stream, durable).catch(() => null);
    if (
      existing &&
      (existing.config.ack_wait !== config.ack_wait ||
        existing.config.max_deliver !== config.max_deliver ||
        (existing.config.max_ack_pending ?? 0) < config.max_ack_pending)
    ) {
      // a durable outlives the node that made it: a restart with a new ack wait must reach the server
      this.options.logger.info(
        { durable, ack_wait_ms: ackWaitMs, was_ms: (existing.config.ack_wait ?? 0) / 1_000_000 },
        "updating the durable consumer's settings",
      );
      await jsm.consumers.update(stream, durable, {
        ack_wait: config.ack_wait,
        max_deliver: config.max_deliver,
        max_ack_pending: Math.max(existing.config.max_ack_pending ?? 0, config.max_ack_pending),
      });
    }
    if (!existing) {
      await jsm.consumers.add(stream, config).catch(async (error) => {
        // another node created it a moment ago
        if (!(await jsm.consumers.info(stream, durable).catch(() => null))) throw error;
      });
    }
    this.loop = this.pullUntilStopped(await this.openConsume());
  }

  /**
   * Pumps until stop(). The client library ends a consume on its own after some server answers; a
   * durable nobody pulls from is a silent stall, so such an end is logged and the consume reopened.
   */
  private async pullUntilStopped(first: ConsumerMessages): Promise<void> {
    const { durable, logger } = this.options;
    let messages: ConsumerMessages | undefined = first;
    while (!this.stopping) {
      try {
        messages ??= await this.openConsume();
        await this.pump(messages);
        if (this.stopping) return;
        logger.error({ durable }, "the consumer stopped pulling on its own; reopening it");
      } catch (error) {
        if (this.stopping) return;
        logger.error({ durable, err: errorMessage(error) }, "the consumer failed; reopening it");
      }
      messages = undefined;
      await sleep(REOPEN_DELAY_MS, undefined, { ref: false });
    }
  }

  private async openConsume(): Promise<ConsumerMessages> {
    const { js, stream, durable, concurrency } = this.options;
    this.messages = await (await js.consumers.get(stream, durable)).consume({ max_messages: concurrency });
    return this.messages;
  }

  /** Stops pulling, lets in-flight messages finish and hands back the ones not started. */
  async stop(): Promise<void> {
    this.stopping = true;
    await this.messages?.close();
    await this.loop;
    this.flush();
    await Promise.allSettled([...this.inFlight]);
  }

  private async pump(messages: ConsumerMessages): Promise<void> {
    for await (const msg of messages) {
      if (this.stopping) {
        msg.nak();
        continue;
      }
      if (this.options.handleBatch) this.collect(msg);
      else this.track(this.process(msg));
      if (this.inFlight.size >= this.options.concurrency) await Promise.race(this.inFlight);
    }
  }

  private track(job: Promise<void>): void {
    const tracked = job.finally(() => this.inFlight.delete(tracked));
    this.inFlight.add(tracked);
  }

  /** Gathers the messages the client hands over in the same turn of the event loop into one batch. */
  private collect(msg: JsMsg): void {
    const first = this.collecting.length === 0;
    this.collecting.push(msg);
    if (this.collecting.length >= this.options.concurrency) this.flush();
    else if (first) setImmediate(() => this.flush());
  }

  private flush(): void {
    if (this.collecting.length === 0) return;
    const batch = this.collecting;
    this.collecting = [];
    // a batch counts as in flight once per message, so the pump's window stays `concurrency` messages
    const job = this.processBatch(batch);
    for (let i = 0; i < batch.length; i++) this.track(job);
  }

  private async processBatch(msgs: JsMsg[]): Promise<void> {
    const { handlerName, handleBatch } = this.options;
    const batch: { msg: JsMsg; handled: Handled<C> }[] = [];
    const alone: JsMsg[] = [];
    for (const msg of msgs) {
      const delivery = toDelivery(msg);
      try {
        batch.push({ msg, handled: { payload: decodePayload(this.options.contractOf(delivery), delivery.raw), delivery } });
      } catch {
        alone.push(msg);
      }
    }
    const labels = batch.map(({ msg }) => ({ topic: msg.subject, handler: handlerName }));
    const timers = labels.map((l) => messageDuration.startTimer(l));
    for (const l of labels) messagesProcessed.inc(l);
    const heartbeat = this.keepOurs(batch.map(({ msg }) => msg));
    try {
      if (batch.length > 0) {
        await inHandlerSpans(
          batch.map(({ handled }, i) => ({ ...handled.delivery, ...labels[i]! })),
          () => handleBatch!(batch.map((b) => b.handled)),
        );
      }
      for (const { msg } of batch) msg.ack();
    } catch {
      // one of them may be at fault: each goes again on its own, with its own retries and dead letter
      alone.push(...batch.map((b) => b.msg));
    } finally {
      clearInterval(heartbeat);
      for (const end of timers) end();
    }
    await Promise.all(alone.map((msg) => this.process(msg)));
  }

  /**
   * Keeps messages ours while their handler runs (it may wait for a handler slot and a slow
   * partner), and names a handler that runs far longer than any bounded wait allows: such a
   * message is held, and its handler slot taken, until the handler ends. Clear it when done.
   */
  private keepOurs(msgs: JsMsg[]): NodeJS.Timeout {
    const { ackWaitMs, handlerName, logger } = this.options;
    const started = Date.now();
    let named = false;
    return setInterval(() => {
      for (const msg of msgs) msg.working();
      const runningMs = Date.now() - started;
      if (named || runningMs < LONG_RUNNING_ACK_WAITS * ackWaitMs) return;
      named = true;
      const ids = msgs.map((msg) => msg.headers?.get(MessageHeaders.messageId) ?? String(msg.seq));
      logger.warn({ handler: handlerName, message_ids: ids, running_ms: runningMs }, "handler still running; its messages are held");
    }, ackWaitMs / 3);
  }

  private async process(msg: JsMsg): Promise<void> {
    const { handlerName, logger, retry } = this.options;
    const delivery = toDelivery(msg);
    const labels = { topic: msg.subject, handler: handlerName };
    const endTimer = messageDuration.startTimer(labels);
    messagesProcessed.inc(labels);
    const heartbeat = this.keepOurs([msg]);
    try {
      await inHandlerSpan({ ...delivery, ...labels }, () =>
        this.options.handle(decodePayload(this.options.contractOf(delivery), delivery.raw), delivery),
      );
      msg.ack();
    } catch (error) {
      messagesFailed.inc(labels);
      const log = {
        handler: handlerName,
        message_id: delivery.messageId,
        correlation_id: delivery.correlationId,
        deliveries: delivery.deliveryCount,
        err: errorMessage(error),
      };
      if (isPermanent(error) || delivery.deliveryCount >= maxDeliveries(retry)) {
        await this.deadLetter(msg, delivery, error, labels);
      } else {
        const delay = retryDelay(retry, delivery.deliveryCount);
        logger.warn({ ...log, retry_in_ms: delay }, "message handling failed; will retry");
        msg.nak(delay);
      }
    } finally {
      clearInterval(heartbeat);
      endTimer();
    }
  }

  private async deadLetter(msg: JsMsg, delivery: Delivery, error: unknown, labels: { topic: string; handler: string }): Promise<void> {
    try {
      await this.options.deadLetter({ delivery, error: errorMessage(error) });
      messagesDeadLettered.inc(labels);
      this.options.logger.error(
        {
          handler: this.options.handlerName,
          message_id: delivery.messageId,
          correlation_id: delivery.correlationId,
          deliveries: delivery.deliveryCount,
          err: errorMessage(error),
        },
        "message moved to dead letters",
      );
      // no reason text: nats-server 2.9 ignores a "+TERM <reason>" ack and would redeliver
      msg.term();
    } catch (storeError) {
      this.options.logger.error({ err: errorMessage(storeError) }, "could not store dead letter; will redeliver");
      msg.nak(this.options.retry.backoffMaxMs);
    }
  }
}
