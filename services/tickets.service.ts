import type { Context } from "moleculer";
import type { GatewayClient } from "../adapters/gateway-client/index.ts";
import {
  TicketBookingCanceled_v1,
  TicketBookingConfirmed_v1,
  TicketPrinted_v1,
  TicketReceiptIssued_v1,
  type PayloadOf,
} from "../contracts/index.ts";
import { TicketsQuery, TicketsStatusRequest, type TicketView } from "../contracts/http.ts";
import { HttpError, validate } from "../lib/http/http-errors.ts";
import { oncePerKey, reply, requestHash } from "../lib/http/idempotency.ts";
import { replyPage } from "../lib/http/pagination.ts";
import type { RequestMeta } from "../lib/http/request-meta.ts";
import type { OutboxMessage } from "../lib/messaging/outbox.ts";
import { ConsumerMixin, on, onBatch, type HandlerDelivery } from "../mixins/consumer.mixin.ts";
import { OutboxMixin } from "../mixins/outbox.mixin.ts";
import type { TicketsServiceSchema } from "../mixins/index.ts";
import { claimRefund } from "./refund-claims.repository.ts";
import * as tickets from "./tickets.repository.ts";
import type { TicketFacts } from "./tickets.repository.ts";

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
            // one INSERT for all of them (up to 1 000), in the request's order
            await this.publishAll(
              trx,
              request.tickets.map((ticket) => ({ message: ticketStatusMessage(ticket, key), origin: ctx.meta })),
            );
            return { status: 200, body: null };
          }),
        );
        return reply(ctx.meta, result);
      },
    },

    /** GET /api/tickets: a page of tickets not canceled (or canceled), by confirmation time; `[]` when there are none. */
    list: {
      async handler(ctx: Context<unknown, RequestMeta>): Promise<TicketView[]> {
        const query = validate(TicketsQuery, ctx.params);
        return replyPage(ctx.meta, await tickets.listPage(this.db, query));
      },
    },
  },

  subscriptions: {
    StoreTicket: onBatch(TicketBookingConfirmed_v1, async function (batch) {
      await tickets.storeAll(
        this.db,
        batch.map(({ payload }) => payload),
      );
    }),

    /** A cancellation wins even when it overtakes its confirmation: it leaves a tombstone. */
    RemoveCanceledTicket: on(TicketBookingCanceled_v1, async function (event) {
      await tickets.cancel(this.db, event);
    }),

    // Fulfilment: each effect happens once per ticket, however often the ticket is confirmed or a
    // message redelivered. The inbox marker is keyed by the ticket and commits with the handler's
    // outbox rows, so a follow-up event is published once. A delivery carries the correlation id
    // and traceparent the gateway calls forward (it is their CallContext).

    AppendToTracker: on(
      TicketBookingConfirmed_v1,
      async function (ticket, delivery) {
        await appendRowOnce(this.runtime.gateway, "tickets-to-print", sheetRow(ticket), delivery);
      },
      { inbox: perTicket, recordAttempts: true },
    ),

    PrintTicket: on(
      TicketBookingConfirmed_v1,
      async function (ticket, delivery) {
        const fileName = `${ticket.ticket_id}-ticket.html`;
        const content = `<html><body>Ticket ID: ${ticket.ticket_id}, Price: ${ticket.price.amount} ${ticket.price.currency}</body></html>`;
        await this.runtime.gateway.files.put(fileName, content, delivery);
        await this.publish(
          delivery.trx,
          { contract: TicketPrinted_v1, body: { ticket_id: ticket.ticket_id, file_name: fileName } },
          delivery,
        );
      },
      { inbox: perTicket },
    ),

    // The receipt key of the ticket's first attempt is reused by every later one — also by another
    // copy of the confirmation with its own header — so the receipts API answers the same receipt.
    IssueReceipt: on(
      TicketBookingConfirmed_v1,
      async function (ticket, delivery) {
        const receipt = await this.runtime.gateway.receipts.issue(
          { ticket_id: ticket.ticket_id, price: ticket.price, idempotency_key: delivery.firstAttemptMemo ?? receiptKey(ticket) },
          delivery,
        );
        const body = { ticket_id: ticket.ticket_id, receipt_number: receipt.number, issued_at: new Date(receipt.issued_at).toISOString() };
        await this.publish(delivery.trx, { contract: TicketReceiptIssued_v1, body }, delivery);
      },
      { inbox: perTicket, recordAttempts: receiptKey },
    ),

    // A ticket already refunded on the customer's request gets no row: it would be refunded twice.
    TicketRefundToSheet: on(
      TicketBookingCanceled_v1,
      async function (ticket, delivery) {
        if ((await claimRefund(delivery.trx, perTicket(ticket), "cancellation")) !== "cancellation") return;
        await appendRowOnce(this.runtime.gateway, "tickets-to-refund", sheetRow(ticket), delivery);
      },
      { inbox: perTicket, recordAttempts: true },
    ),
  },
};

/** Postgres reads any case of a uuid as the same ticket; so does the inbox. */
function perTicket(ticket: TicketFacts): string {
  return ticket.ticket_id.toLowerCase();
}

/** The confirmation's idempotency key and the ticket, with a separator the original lacked (docs/compatibility.md). */
function receiptKey(ticket: PayloadOf<typeof TicketBookingConfirmed_v1>): string {
  return `${ticket.header.idempotency_key}-${ticket.ticket_id}`;
}

function sheetRow(ticket: TicketFacts): string[] {
  return [ticket.ticket_id, ticket.customer_email, ticket.price.amount, ticket.price.currency];
}

/**
 * The spreadsheet API takes no idempotency key. The caller's inbox marker stops every delivery
 * after a committed one; when an earlier attempt for the ticket did not commit (it died or lost its
 * response after the append — a redelivery, or another copy of the confirmation), the sheet is read
 * back first, so the row is never added a second time.
 */
async function appendRowOnce(gateway: GatewayClient, sheet: string, row: string[], delivery: HandlerDelivery): Promise<void> {
  if (delivery.earlierAttempt) {
    const ticketId = row[0]!.toLowerCase();
    const rows = await gateway.spreadsheets.rows(sheet, delivery);
    if (rows.some((existing) => existing[0]?.toLowerCase() === ticketId)) return;
  }
  await gateway.spreadsheets.appendRow(sheet, row, delivery);
}

/** The event of one ticket of a POST /api/tickets-status. */
function ticketStatusMessage(ticket: TicketsStatusRequest["tickets"][number], key: string): OutboxMessage {
  const body = { ticket_id: ticket.ticket_id, customer_email: ticket.customer_email, price: ticket.price };
  if (ticket.status === "confirmed")
    return { contract: TicketBookingConfirmed_v1, body: { booking_id: ticket.booking_id ?? "", ...body }, idempotencyKey: key };
  return { contract: TicketBookingCanceled_v1, body, idempotencyKey: key };
}

export default TicketsService;
