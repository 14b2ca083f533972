import type { ServiceSchema } from "moleculer";
import type { MessageContract, PayloadOf } from "../contracts/index.ts";
import type { Transaction } from "../lib/database/db.ts";
import { writeToOutbox, type MessageOrigin, type OutboxMessage } from "../lib/messaging/outbox.ts";
import type { Runtime } from "../lib/runtime.ts";
import { DatabaseMixin } from "./database.mixin.ts";

export interface OutboxMethods {
  /** Publishes through the outbox: the message commits, or vanishes, with `trx`. */
  publish<C extends MessageContract>(trx: Transaction, message: OutboxMessage<C>, origin?: MessageOrigin): Promise<PayloadOf<C>>;
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
    },
    async started() {
      await (this.runtime as Runtime).ensureRelay();
    },
  };
}
