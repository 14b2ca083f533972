import type { ServiceSchema, ServiceSettingSchema } from "moleculer";
import type { Subscriptions } from "./consumer.mixin.ts";
import type { DatabaseMethods } from "./database.mixin.ts";
import type { OutboxMethods } from "./outbox.mixin.ts";

declare module "moleculer" {
  interface ServiceSchema {
    /** Durable JetStream handlers of the service, run by the consumer mixin (`on(Contract, handler)`). */
    subscriptions?: Subscriptions;
  }
}

/** A business service: database, outbox and message subscriptions, with `this` typed accordingly. */
export type TicketsServiceSchema<Methods = unknown> = ServiceSchema<ServiceSettingSchema, DatabaseMethods & OutboxMethods & Methods>;
