import type { Context } from "moleculer";
import { TicketBookingCanceled_v1, TicketBookingConfirmed_v1 } from "../contracts/index.ts";
import { TicketsStatusRequest, type TicketView } from "../contracts/http.ts";
import { HttpError, validate } from "../lib/http-errors.ts";
import { oncePerKey, requestHash } from "../lib/idempotency.ts";
import type { RequestMeta } from "../lib/request-meta.ts";
import { ConsumerMixin, on } from "../mixins/consumer.mixin.ts";
import { OutboxMixin } from "../mixins/outbox.mixin.ts";
import type { TicketsServiceSchema } from "../mixins/index.ts";
import * as tickets from "./tickets.repository.ts";

/** Tickets: the partner's confirmations and cancellations, and the tickets they produce. */
const TicketsService: TicketsServiceSchema = {
  name: "tickets",
  mixins: [OutboxMixin(), ConsumerMixin()],

  actions: {
    /** POST /api/tickets-status: one event per ticket, all or nothing, once per Idempotency-Key. */
    updateStatus: {
      async handler(ctx: Context<unknown, RequestMeta>) {
        const key = ctx.meta.idempotencyKey;
        if (!key) throw new HttpError(400, "Idempotency-Key header is required");
        const request = validate(TicketsStatusRequest, ctx.params);
        const result = await this.transaction((trx) =>
          oncePerKey(trx, "tickets-status", key, requestHash(request), async () => {
            for (const ticket of request.tickets) {
              const body = { ticket_id: ticket.ticket_id, customer_email: ticket.customer_email, price: ticket.price };
              if (ticket.status === "confirmed") {
                await this.publish(trx, { contract: TicketBookingConfirmed_v1, body: { booking_id: ticket.booking_id ?? "", ...body }, idempotencyKey: key }, ctx.meta);
              } else {
                await this.publish(trx, { contract: TicketBookingCanceled_v1, body, idempotencyKey: key }, ctx.meta);
              }
            }
            return { status: 200, body: null };
          }),
        );
        if (result.replayed) ctx.meta.$responseHeaders = { "Idempotent-Replayed": "true" };
        return result.body;
      },
    },

    /** GET /api/tickets: tickets not canceled, `[]` when there are none. */
    list: {
      async handler(): Promise<TicketView[]> {
        return tickets.listActive(this.db);
      },
    },
  },

  subscriptions: {
    StoreTicket: on(TicketBookingConfirmed_v1, async function (event) {
      await tickets.store(this.db, event);
    }),

    /** A cancellation wins even when it overtakes its confirmation: it leaves a tombstone. */
    RemoveCanceledTicket: on(TicketBookingCanceled_v1, async function (event) {
      await tickets.cancel(this.db, event);
    }),
  },
};

export default TicketsService;
