import type { Context, Service, ServiceSchema } from "moleculer";
import { contractsByName, type MessageContract, type MessageHeader, type PayloadOf } from "../contracts/index.ts";
import { MessageConsumer, decodePayload, durableName, retryPolicyOf, type Delivery, type Handled } from "../lib/messaging/consumer.ts";
import type { Transaction } from "../lib/database/db.ts";
import { sqlLiteral, transactionOpeningWith } from "../lib/database/opening-transaction.ts";
import { errorMessage, leftNoEffect, PermanentError, wentUnanswered } from "../lib/errors.ts";
import { setTimeout as sleep } from "node:timers/promises";
import { dropDeadLetter, findDeadLetter, recordFailedReplay, storeDeadLetter, type ReplayResult } from "../lib/messaging/dead-letters.ts";
import type { Runtime } from "../lib/runtime.ts";
import { inHandlerSpan } from "../lib/observability/tracing.ts";
import { closeAttempt, markUnanswered, openAttempts, type Attempt, type AttemptOpening } from "../lib/messaging/attempt-records.ts";
import { createBatcher, type Batcher } from "../lib/batcher.ts";
import { DatabaseMixin, type DatabaseMethods } from "./database.mixin.ts";
import type { OutboxMethods } from "./outbox.mixin.ts";

/** A delivery inside a handler; `trx` is set when the subscription keeps an inbox. */
export interface HandlerDelivery extends Delivery {
  trx: Transaction;
  /**
   * An earlier attempt of this effect may have reached the gateway before it failed or died: with
   * `recordAttempts`, any earlier uncommitted attempt of the same inbox key still in doubt (another
   * copy of the message included); otherwise, this message was delivered before.
   */
  earlierAttempt: boolean;
  /** An operator replayed this message from the dead letters, having decided it should run again. */
  replayed: boolean;
  /** With `recordAttempts` as a function: the value the earliest uncommitted attempt recorded (this one's own when it is the first). */
  firstAttemptMemo?: string;
}

type AttemptMemo = (payload: never) => string;

type InboxKey = (payload: never, delivery: Delivery) => string;

export interface Subscription {
  /** Contract name (data, so Moleculer's deep clone of the schema leaves it intact); "*" for every event. */
  message: string;
  /**
   * "message": run the handler in a transaction that first records (handler, message id) and skips
   * a message already recorded; a function: the same with a natural key (for gateway calls that
   * carry no idempotency key). The gateway call then happens inside that transaction, so a failure
   * rolls the marker back and a concurrent copy waits on it. Such transactions run on the handlers'
   * own pool, gated by the node's handler slots, so they never take the API's or the relay's connections.
   */
  inbox?: "message" | InboxKey;
  /**
   * With an inbox: record each attempt before its transaction, for `earlierAttempt` (handler_attempts;
   * an attempt whose error shows the partner did nothing is closed, so it does not count);
   * a function also records its value with the first attempt, handed to every later one as `firstAttemptMemo`.
   */
  recordAttempts?: boolean | AttemptMemo;
  handle(this: Service, payload: unknown, delivery: HandlerDelivery): Promise<void>;
  /** Without an inbox: the messages that arrive together in one call (lib/messaging/consumer.ts); `handle` is a batch of one. */
  handleBatch?(this: Service, batch: Handled[]): Promise<void>;
}

export type Subscriptions = Record<string, Subscription>;

/** `this` inside a handler: the service with the methods of the mixins business services compose. */
export type HandlerThis = Service & DatabaseMethods & OutboxMethods;

/** Typed constructor of one subscription: `StoreTicket: on(TicketBookingConfirmed_v1, async function (ticket, delivery) {…})`. */
export function on<C extends MessageContract, S = HandlerThis>(
  contract: C,
  handle: (this: S, payload: PayloadOf<C>, delivery: HandlerDelivery) => Promise<void>,
  options: {
    inbox?: "message" | ((payload: PayloadOf<C>, delivery: Delivery) => string);
    recordAttempts?: boolean | ((payload: PayloadOf<C>) => string);
  } = {},
): Subscription {
  return {
    message: contract.name,
    inbox: options.inbox as Subscription["inbox"],
    recordAttempts: options.recordAttempts as Subscription["recordAttempts"],
    handle: handle as Subscription["handle"],
  };
}

/**
 * A subscription whose messages are handled in batches (one statement for many rows): only for
 * handlers that are idempotent without an inbox, since a failed batch is handled again one by one.
 */
export function onBatch<C extends MessageContract, S = HandlerThis>(
  contract: C,
  handleBatch: (this: S, batch: Handled<C>[]) => Promise<void>,
): Subscription {
  return batchSubscription(contract.name, handleBatch as Subscription["handleBatch"]);
}

/** Every event, whatever its name (the data lake), in batches as `onBatch`: each payload is checked against its own contract. */
export function onEveryEventBatch<S = HandlerThis>(
  handleBatch: (this: S, batch: { payload: { header: MessageHeader }; delivery: Delivery }[]) => Promise<void>,
): Subscription {
  return batchSubscription(EVERY_EVENT, handleBatch as Subscription["handleBatch"]);
}

function batchSubscription(message: string, handleBatch: Subscription["handleBatch"]): Subscription {
  return {
    message,
    handleBatch,
    handle(payload, delivery) {
      return handleBatch!.call(this, [{ payload, delivery }] as Handled[]);
    },
  };
}

const EVERY_EVENT = "*";

/** Openings per upsert; a service starting more at once (up to its handlers × CONSUMER_CONCURRENCY) sends another right after. */
const ATTEMPT_OPENINGS_PER_STATEMENT = 64;

function contractNamed(name: string): MessageContract {
  const contract = contractsByName.get(name);
  if (!contract) throw new PermanentError(`unknown message "${name}"`);
  return contract;
}

function contractOf(subscription: Subscription, delivery: Delivery): MessageContract {
  return contractNamed(subscription.message === EVERY_EVENT ? delivery.name : subscription.message);
}

/**
 * Gives a partner `GATEWAY_SETTLE_MS` after an earlier attempt's call went unanswered before this
 * attempt reads it back or calls again: a read-back that runs while the first request is still
 * being applied finds nothing and the effect happens twice. The wait holds neither a handler slot
 * nor a connection, and the consumer keeps the message ours meanwhile.
 */
async function settle(runtime: Runtime, unansweredMsAgo: number | undefined): Promise<void> {
  if (unansweredMsAgo === undefined) return;
  const remainingMs = runtime.config.GATEWAY_SETTLE_MS - unansweredMsAgo;
  if (remainingMs > 0) await sleep(remainingMs);
}

/**
 * Runs the service's `subscriptions`: one durable JetStream consumer per handler, shared by every
 * instance of the service on every node; dead letters land in Postgres and can be replayed.
 */
export function ConsumerMixin(): Partial<ServiceSchema> {
  return {
    mixins: [DatabaseMixin()],
    actions: {
      replayDeadLetter: {
        visibility: "public",
        params: { id: "number" },
        async handler(ctx: Context<{ id: number }>) {
          return this.replayDeadLetter(ctx.params.id);
        },
      },
    },
    methods: {
      subscriptionList(): [string, Subscription][] {
        return Object.entries((this.schema as { subscriptions?: Subscriptions }).subscriptions ?? {});
      },

      /**
       * Runs one handler on one delivery: with an inbox, inside its inbox transaction on the
       * handlers' own pool, once one of the node's handler slots is free.
       */
      async runHandler(handler: string, subscription: Subscription, payload: unknown, delivery: Delivery): Promise<void> {
        const runtime: Runtime = this.runtime;
        const replayed = delivery.replayed === true;
        if (!subscription.inbox) {
          return subscription.handle.call(this, payload, {
            ...delivery,
            replayed,
            earlierAttempt: delivery.deliveryCount > 1,
          } as HandlerDelivery);
        }
        const key = subscription.inbox === "message" ? delivery.messageId : subscription.inbox(payload as never, delivery);
        const inboxName = durableName(this.name, handler);
        const { recordAttempts } = subscription;
        const attempt: Attempt = recordAttempts
          ? await (this.attemptOpenings as Batcher<AttemptOpening, Attempt>).submit({
              handler: inboxName,
              key,
              memo: typeof recordAttempts === "function" ? recordAttempts(payload as never) : undefined,
            })
          : { earlierAttempt: delivery.deliveryCount > 1 };
        const { unansweredMsAgo, ...earlier } = attempt;
        await settle(runtime, unansweredMsAgo);
        // a record that says only "one attempt, answered" misleads no later attempt once the inbox
        // marks the key done: housekeeping removes it, which saves the commit a round trip
        const clearsRecord = Boolean(recordAttempts) && (attempt.earlierAttempt || unansweredMsAgo !== undefined);
        try {
          await runtime.handlerSlots.run(() =>
            this.runOnceInInbox(inboxName, key, subscription, payload, { ...delivery, replayed, ...earlier }, clearsRecord),
          );
        } catch (error) {
          if (recordAttempts && leftNoEffect(error)) await closeAttempt(runtime.db, inboxName, key);
          else if (recordAttempts && wentUnanswered(error)) await markUnanswered(runtime.db, inboxName, key);
          throw error;
        }
      },

      /**
       * The inbox transaction: records (handler, key), runs the handler unless it was recorded
       * already; with `clearsRecord`, the attempts' record goes with the commit.
       */
      async runOnceInInbox(
        inboxName: string,
        key: string,
        subscription: Subscription,
        payload: unknown,
        delivery: Omit<HandlerDelivery, "trx">,
        clearsRecord: boolean,
      ): Promise<void> {
        const runtime: Runtime = this.runtime;
        const marker = `INSERT INTO processed_messages (handler, key) VALUES (${sqlLiteral(inboxName)}, ${sqlLiteral(key)})
          ON CONFLICT (handler, key) DO NOTHING RETURNING key`;
        await transactionOpeningWith(runtime.handlerDb, marker, async (trx, inserted) => {
          if (inserted.length > 0) {
            await subscription.handle.call(this, payload, { ...delivery, trx });
          } else {
            this.logger.debug({ handler: inboxName, key, message_id: delivery.messageId }, "already processed; skipping");
          }
          // done either way: the record of this and the earlier attempts goes with the commit
          if (clearsRecord) await trx("handler_attempts").where({ handler: inboxName, key }).delete();
        });
      },

      async replayDeadLetter(id: number): Promise<ReplayResult> {
        const { db }: Runtime = this.runtime;
        const letter = await findDeadLetter(db, id);
        if (!letter || letter.service !== this.name) return { id, replayed: false, error: "dead letter not found" };
        const entry = this.subscriptionList().find(([name]: [string]) => durableName(this.name, name) === letter.handler);
        if (!entry) return { id, replayed: false, error: `handler ${letter.handler} no longer exists` };
        const [handler, subscription] = entry as [string, Subscription];
        const delivery: Delivery = {
          messageId: letter.messageId,
          name: letter.name,
          subject: letter.subject,
          correlationId: letter.metadata.correlation_id,
          traceparent: letter.metadata.traceparent,
          tracestate: letter.metadata.tracestate,
          deliveryCount: letter.deliveries + 1,
          raw: letter.payload,
          replayed: true,
        };
        try {
          // the replay is one more attempt of the message: its span joins the message's own trace
          await inHandlerSpan({ ...delivery, topic: letter.subject, handler }, () =>
            this.runHandler(handler, subscription, decodePayload(contractOf(subscription, delivery), letter.payload), delivery),
          );
        } catch (error) {
          await recordFailedReplay(db, id, errorMessage(error), delivery.deliveryCount);
          return { id, replayed: false, error: errorMessage(error) };
        }
        await dropDeadLetter(db, id);
        this.logger.info({ id, handler, message_id: letter.messageId }, "dead letter replayed");
        return { id, replayed: true };
      },
    },

    async started() {
      const runtime: Runtime = this.runtime;
      const { config, topology, backbone } = runtime;
      // the attempts that start together, across this service's handlers, open their records in one statement
      this.attemptOpenings = createBatcher(
        (openings: AttemptOpening[]) => openAttempts(runtime.db, openings),
        ATTEMPT_OPENINGS_PER_STATEMENT,
      );
      this.consumers = [] as MessageConsumer<MessageContract>[];
      for (const [handler, subscription] of this.subscriptionList() as [string, Subscription][]) {
        const everyEvent = subscription.message === EVERY_EVENT;
        const contract = everyEvent ? undefined : contractNamed(subscription.message);
        const durable = durableName(this.name, handler);
        const consumer = new MessageConsumer({
          js: backbone.js,
          jsm: backbone.jsm,
          stream: topology.streams[contract?.kind ?? "event"],
          subject: contract ? topology.subject(contract.kind, contract.name) : topology.streamSubjects("event"),
          durable,
          contractOf: (delivery: Delivery) => contract ?? contractNamed(delivery.name),
          handlerName: handler,
          retry: retryPolicyOf(config),
          ackWaitMs: config.CONSUMER_ACK_WAIT_MS,
          concurrency: config.CONSUMER_CONCURRENCY,
          logger: this.logger,
          handle: (payload: PayloadOf<MessageContract>, delivery: Delivery) => this.runHandler(handler, subscription, payload, delivery),
          handleBatch: subscription.handleBatch && ((batch: Handled[]) => subscription.handleBatch!.call(this, batch)),
          deadLetter: (letter) => storeDeadLetter(runtime.db, { service: this.name, handler: durable }, letter),
        });
        await consumer.start();
        this.consumers.push(consumer);
      }
    },

    async stopped() {
      await Promise.all((this.consumers ?? []).map((consumer: MessageConsumer<MessageContract>) => consumer.stop()));
    },
  };
}
