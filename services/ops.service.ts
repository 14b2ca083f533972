import type { Context } from "moleculer";
import {
  BookingMade_v1,
  TicketBookingCanceled_v1,
  TicketBookingConfirmed_v1,
  TicketPrinted_v1,
  TicketReceiptIssued_v1,
  TicketRefunded_v1,
  Uuid,
} from "../contracts/index.ts";
import { OpsBookingsQuery, type OpsBookingView, type ShowSales } from "../contracts/http.ts";
import { HttpError, validate } from "../lib/http/http-errors.ts";
import { replyPage, withEtag } from "../lib/http/pagination.ts";
import type { RequestMeta } from "../lib/http/request-meta.ts";
import {
  applyToOpsReadModel,
  getOpsBooking,
  listOpsBookings,
  rebuildOpsReadModel,
  jetStreamDataLake,
  type RebuildOptions,
} from "./ops.read-model.ts";
import type { Transaction } from "../lib/database/db.ts";
import type { Logger } from "../lib/observability/logger.ts";
import { ConsumerMixin, onBatch } from "../mixins/consumer.mixin.ts";
import { showSales } from "./ops.sales.ts";
import type { DatabaseMethods } from "../mixins/database.mixin.ts";
import type { TicketsServiceSchema } from "../mixins/index.ts";

/**
 * A subscription body: the events that arrive together, applied in order in one transaction, each
 * locking its booking. A batch that fails (an event before its booking, a deadlock with another
 * batch) is applied again event by event, each in a transaction of its own.
 */
function update<E>(apply: (trx: Transaction, event: E) => Promise<void>) {
  return async function (this: DatabaseMethods, batch: { payload: E }[]) {
    await this.transaction(async (trx) => {
      for (const { payload } of batch) await apply(trx, payload);
    });
  };
}

/**
 * Replays the data lake into a fresh read model and swaps it in (not routed over HTTP; for the
 * REPL). Resumes an interrupted run unless `restart`; `swap: false` leaves the result beside the
 * live one. No timeout and no retry: a rebuild may take long, and a second copy would only wait.
 */
const rebuildReadModel = {
  visibility: "public",
  timeout: 0,
  retryPolicy: { enabled: false },
  params: {
    swap: { type: "boolean", optional: true },
    restart: { type: "boolean", optional: true },
    batchSize: { type: "number", integer: true, positive: true, optional: true },
  },
  async handler(this: DatabaseMethods & { logger: Logger }, ctx: Context<Pick<RebuildOptions, "swap" | "restart" | "batchSize">>) {
    const { backbone, topology } = this.runtime;
    return rebuildOpsReadModel(this.db, { ...ctx.params, logger: this.logger, dataLake: jetStreamDataLake(backbone, topology) });
  },
} as const;

/**
 * Ops: one document per booking with the story of each of its tickets, fed by its own
 * durable consumers. Each update locks its booking's row; updates are order-independent and
 * idempotent (services/ops.read-model.ts), and a ticket event that comes before its booking is retried.
 */
const OpsService: TicketsServiceSchema = {
  name: "ops",
  mixins: [ConsumerMixin()],

  actions: {
    /** GET /api/ops/bookings[?receipt_issue_date=YYYY-MM-DD&show_id=…]: a page, newest booking first; 304 when the client has it. */
    listBookings: {
      async handler(ctx: Context<unknown, RequestMeta>): Promise<OpsBookingView[] | null> {
        const query = validate(OpsBookingsQuery, ctx.params);
        return withEtag(ctx.meta, replyPage(ctx.meta, await listOpsBookings(this.db, query)));
      },
    },

    /** GET /api/ops/bookings/:id */
    getBooking: {
      async handler(ctx: Context<{ id?: unknown }>): Promise<OpsBookingView> {
        const id = Uuid.safeParse(ctx.params.id);
        if (!id.success) throw new HttpError(400, "invalid booking ID format");
        const booking = await getOpsBooking(this.db, id.data);
        if (!booking) throw new HttpError(404, "booking not found");
        return booking;
      },
    },

    /** GET /api/shows/:show_id/sales: the show's sales curve and fulfilment funnel; 400 bad id. */
    showSales: {
      async handler(ctx: Context<{ show_id?: unknown }>): Promise<ShowSales> {
        const id = Uuid.safeParse(ctx.params.show_id);
        if (!id.success) throw new HttpError(400, "invalid show ID format");
        return showSales(this.db, id.data);
      },
    },

    rebuildReadModel,
  },

  subscriptions: {
    "ops_read_model.OnBookingMade": onBatch(BookingMade_v1, update(applyToOpsReadModel.bookingMade)),
    "ops_read_model.OnTicketBookingConfirmed": onBatch(TicketBookingConfirmed_v1, update(applyToOpsReadModel.ticketConfirmed)),
    "ops_read_model.OnTicketPrinted": onBatch(TicketPrinted_v1, update(applyToOpsReadModel.ticketPrinted)),
    "ops_read_model.OnTicketReceiptIssued": onBatch(TicketReceiptIssued_v1, update(applyToOpsReadModel.ticketReceiptIssued)),
    "ops_read_model.OnTicketRefunded": onBatch(TicketRefunded_v1, update(applyToOpsReadModel.ticketRefunded)),
    /** Not in the original system, which never showed cancellations. */
    "ops_read_model.OnTicketBookingCanceled": onBatch(TicketBookingCanceled_v1, update(applyToOpsReadModel.ticketCanceled)),
  },
};

export default OpsService;
