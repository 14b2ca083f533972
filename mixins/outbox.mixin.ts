import type { ServiceSchema } from "moleculer";
import type { MessageContract, PayloadOf } from "../contracts/index.ts";
import type { Transaction } from "../lib/database/db.ts";
import { writeAllToOutbox, writeToOutbox, type MessageOrigin, type OutboxEntry, type OutboxMessage } from "../lib/messaging/outbox.ts";
import type { Runtime } from "../lib/runtime.ts";
import { DatabaseMixin } from "./database.mixin.ts";

export interface OutboxMethods {
  /** Publishes through the outbox: the message commits, or vanishes, with `trx`. */
  publish<C extends MessageContract>(trx: Transaction, message: OutboxMessage<C>, origin?: MessageOrigin): Promise<PayloadOf<C>>;
  /** Publishes many messages through the outbox with one INSERT; their payloads, in order. */
  publishAll<C extends MessageContract>(trx: Transaction, entries: OutboxEntry<C>[]): Promise<PayloadOf<C>[]>;
}

/** Transaction-bound publishing; also makes sure this node's relay runs. */
export function OutboxMixin(): Partial<ServiceSchema> {
  return {
    mixins: [DatabaseMixin()],
    methods: {
      async publish(trx: Transaction, message: OutboxMessage, origin?: MessageOrigin) {
        const runtime: Runtime = this.runtime;
        const { payload } = await writeToOutbox(trx, runtime.topology, message, origin);
        return payload;
      },
      async publishAll(trx: Transaction, entries: OutboxEntry[]) {
        const runtime: Runtime = this.runtime;
        return (await writeAllToOutbox(trx, runtime.topology, entries)).map((written) => written.payload);
      },
    },
    async started() {
      await (this.runtime as Runtime).ensureRelay();
    },
  };
}
