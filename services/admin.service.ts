import type { Context, ServiceSchema, ServiceSettingSchema } from "moleculer";
import { HttpError, validate } from "../lib/http/http-errors.ts";
import { consumerStatus } from "../lib/inspection/consumer-status.ts";
import { dropDeadLetter, findDeadLetter, listDeadLetters, replayDeadLetters, type ReplayResult } from "../lib/messaging/dead-letters.ts";
import { handlerCounts } from "../lib/inspection/handler-counts.ts";
import { outboxStatus } from "../lib/inspection/outbox-status.ts";
import { DeadLetterListParams, DeadLetterParams, type ReadModelName, RebuildParams, ReplayParams } from "../contracts/admin.ts";
import { withinBytes } from "../lib/http/pagination.ts";
import { REBUILD_TIMEOUT_MS, type RebuildCheckpoint, rebuildStatus } from "../lib/inspection/read-models.ts";
import { DatabaseMixin, type DatabaseMethods } from "../mixins/database.mixin.ts";
import { CHECKPOINT_TABLE, REBUILD_TABLE } from "./ops.read-model.ts";

/** Each rebuildable read model: the action that rebuilds it and where it checkpoints. */
const rebuildable: Record<ReadModelName, { action: string; checkpoint: RebuildCheckpoint }> = {
  "ops-bookings": { action: "ops.rebuildReadModel", checkpoint: { table: CHECKPOINT_TABLE, target: REBUILD_TABLE } },
};

/**
 * The operator's surface: outbox and consumer health, dead letters, read-model rebuilds. It needs
 * only the node's connections, so it also runs on a node without business services (the REPL's).
 * Every action answers for the whole cluster except `handlerCounts`, which is per node process.
 */
const AdminService: ServiceSchema<ServiceSettingSchema, DatabaseMethods> = {
  name: "admin",
  mixins: [DatabaseMixin()],

  actions: {
    /** Pending rows, oldest pending age, relay rate over the last minute, Redis mirror lag. */
    outbox: {
      async handler() {
        return outboxStatus(this.db, this.runtime.mirror);
      },
    },

    /** Every durable consumer of the namespace's streams: pending, in flight, redelivered, dead letters. */
    consumers: {
      async handler() {
        const { backbone, topology } = this.runtime;
        return consumerStatus(backbone.jsm, topology, this.db);
      },
    },

    /** Oldest first, a page at a time (`limit`, `after` = the last id seen), cut to what NATS carries. */
    dlqList: {
      async handler(ctx: Context<unknown>) {
        return withinBytes(await listDeadLetters(this.db, validate(DeadLetterListParams, ctx.params)));
      },
    },

    dlqShow: {
      async handler(ctx: Context<unknown>) {
        const { id } = validate(DeadLetterParams, ctx.params);
        const letter = await findDeadLetter(this.db, id);
        if (!letter) throw new HttpError(404, `dead letter ${id} not found`);
        return letter;
      },
    },

    /** Runs the owning handler again; a success removes the dead letter, a failure updates its error. */
    dlqReplay: {
      async handler(ctx: Context<unknown>) {
        const { id } = validate(ReplayParams, ctx.params);
        const results = await replayDeadLetters(this.db, id, (service, letterId) =>
          ctx.call<ReplayResult, { id: number }>(`${service}.replayDeadLetter`, { id: letterId }),
        );
        if (id !== "all" && results.length === 0) throw new HttpError(404, `dead letter ${id} not found`);
        return results;
      },
    },

    dlqDrop: {
      async handler(ctx: Context<unknown>) {
        const { id } = validate(DeadLetterParams, ctx.params);
        if (!(await dropDeadLetter(this.db, id))) throw new HttpError(404, `dead letter ${id} not found`);
        this.logger.info({ id }, "dead letter dropped by operator");
        return { id, dropped: true };
      },
    },

    /** Rebuilds a read model from history; the owning service logs its progress, `rebuildStatus` reports it. */
    rebuildReadModel: {
      async handler(ctx: Context<unknown>) {
        const { name } = validate(RebuildParams, ctx.params);
        this.logger.info({ read_model: name }, "read-model rebuild requested");
        return ctx.call(rebuildable[name].action, {}, { timeout: REBUILD_TIMEOUT_MS, retries: 0 });
      },
    },

    /** Progress of the latest rebuild of a read model (null when it never ran). */
    rebuildStatus: {
      async handler(ctx: Context<unknown>) {
        const { name } = validate(RebuildParams, ctx.params);
        return rebuildStatus(this.db, name, rebuildable[name].checkpoint);
      },
    },

    /** This node process's handler counters; call it with `{ nodeID }` to see one node's share. */
    handlerCounts: {
      async handler() {
        return { nodeID: this.broker.nodeID, handlers: await handlerCounts() };
      },
    },
  },
};

export default AdminService;
