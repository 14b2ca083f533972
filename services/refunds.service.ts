import type { Context } from "moleculer";
import { RefundTicket, TicketRefunded_v1 } from "../contracts/index.ts";
import { TicketRefundParams } from "../contracts/http.ts";
import { HttpError, validate } from "../lib/http/http-errors.ts";
import { oncePerKey, reply, requestHash } from "../lib/http/idempotency.ts";
import type { RequestMeta } from "../lib/http/request-meta.ts";
import { ConsumerMixin, on } from "../mixins/consumer.mixin.ts";
import { OutboxMixin } from "../mixins/outbox.mixin.ts";
import type { TicketsServiceSchema } from "../mixins/index.ts";
import { claimRefund } from "./refund-claims.repository.ts";
import * as refunds from "./refunds.repository.ts";

const REFUND_REASON = "customer requested refund";

/** Refunds: a customer's refund request becomes one void and one payment refund per ticket. */
const RefundsService: TicketsServiceSchema = {
  name: "refunds",
  mixins: [OutboxMixin(), ConsumerMixin()],

  actions: {
    /**
     * PUT /api/ticket-refund/:ticket_id → 202. The first request records `refund-<ticket_id>` and
     * sends the RefundTicket command in one transaction; a repeat replays the 202 and sends nothing.
     */
    requestRefund: {
      async handler(ctx: Context<unknown, RequestMeta>) {
        const ticketId = validate(TicketRefundParams, ctx.params).ticket_id.toLowerCase();
        const standing = await refunds.ticketStanding(this.db, ticketId);
        if (standing === "unknown") throw new HttpError(404, `ticket ${ticketId} not found`);
        if (standing === "canceled")
          throw new HttpError(409, `ticket ${ticketId} was canceled; its refund goes through the tickets-to-refund sheet`);
        const key = `refund-${ticketId}`;
        const result = await this.transaction((trx) =>
          oncePerKey(trx, "ticket-refund", key, requestHash({ ticket_id: ticketId }), async () => {
            await this.publish(trx, { contract: RefundTicket, body: { ticket_id: ticketId }, idempotencyKey: key }, ctx.meta);
            return { status: 202, body: null };
          }),
        );
        return reply(ctx.meta, result);
      },
    },
  },

  subscriptions: {
    /**
     * Void, refund, then TicketRefunded_v1 carrying the command's header. Both gateway calls carry
     * the command's key, so a redelivery repeats them harmlessly; the inbox (per ticket) makes the
     * event once. A command for a ticket that is not stored retries within the delivery budget (it
     * may still be on its way), then goes to the dead letters instead of retrying forever. A ticket
     * the partner canceled first is refunded through the tickets-to-refund sheet, never here too.
     */
    RefundTicket: on(
      RefundTicket,
      async function (command, delivery) {
        const ticketId = command.ticket_id;
        if (!(await refunds.isStored(delivery.trx, ticketId))) throw new Error(`ticket ${ticketId} is not stored; nothing to refund yet`);
        if ((await claimRefund(delivery.trx, ticketId, "refund_request")) !== "refund_request") {
          this.logger.info({ ticket_id: ticketId }, "ticket canceled by the partner before its refund: the sheet refunds it");
          return;
        }
        const { gateway } = this.runtime;
        const key = command.header.idempotency_key;
        await gateway.receipts.void({ ticket_id: ticketId, reason: REFUND_REASON, idempotent_id: key }, delivery);
        await gateway.payments.refund({ payment_reference: ticketId, reason: REFUND_REASON, deduplication_id: key }, delivery);
        await this.publish(delivery.trx, { contract: TicketRefunded_v1, body: { ticket_id: ticketId }, header: command.header }, delivery);
      },
      { inbox: (command) => command.ticket_id.toLowerCase() },
    ),
  },
};

export default RefundsService;
