import { z } from "zod";
import { Uuid } from "../../contracts/common.ts";
import {
  BookingCreated,
  BookTicketsRequest,
  CreateShowRequest,
  OpsBookingsQuery,
  OpsBookingView,
  ShowCreated,
  ShowSales,
  ShowsQuery,
  ShowView,
  TicketRefundParams,
  TicketsQuery,
  TicketsStatusRequest,
  TicketView,
} from "../../contracts/http.ts";

/**
 * One public route: the action behind it and what its request and answers look like. The
 * api-gateway builds its `/api` aliases from this table and the OpenAPI document is generated
 * from it, with the same zod schemas the actions validate with.
 */
export interface ApiRoute {
  action: string;
  summary: string;
  /** JSON body, validated by the action with this schema. */
  body?: z.ZodType;
  query?: z.ZodObject;
  /** Path parameters (`:ticket_id`). */
  params?: z.ZodObject;
  headers?: { name: string; required: boolean; description: string }[];
  /** Status → description, body schema (none: empty or `null`) and headers. Errors are `{"error": …}`. */
  responses: Record<number, { description: string; body?: z.ZodType; headers?: Record<string, { description: string }> }>;
}

const idempotencyKey = (required: boolean) => ({
  name: "Idempotency-Key",
  required,
  description: required
    ? "Required. A replay with the same body returns the first answer (Idempotent-Replayed: true); another body is 422."
    : "Optional. A replay with the same body returns the first answer (Idempotent-Replayed: true); another body is 422.",
});

/** The answer of a paged list (lib/http/pagination.ts). */
const pageHeaders = {
  Link: {
    description:
      'RFC 8288 `<…>; rel="next"` when more items exist: the same request with an opaque `cursor` that continues after this page\'s last item. Absent on the last page.',
  },
};
const badPage = { description: "Invalid limit, cursor or filter" };

/** Keys are moleculer-web aliases relative to `/api`: "METHOD /path". */
export const publicApi: Record<string, ApiRoute> = {
  "POST /tickets-status": {
    action: "tickets.updateStatus",
    summary: "Confirm or cancel tickets (from the ticket partner); one event per ticket, all or nothing",
    body: TicketsStatusRequest,
    headers: [idempotencyKey(true)],
    responses: {
      200: { description: "Accepted; the events are on their way" },
      400: { description: "Invalid body or missing Idempotency-Key" },
      422: { description: "Idempotency-Key reused with another body" },
    },
  },
  "GET /tickets": {
    action: "tickets.list",
    summary: "Tickets not canceled (or canceled), by confirmation time, a page at a time",
    query: TicketsQuery,
    responses: { 200: { description: "A page of tickets", body: z.array(TicketView), headers: pageHeaders }, 400: badPage },
  },
  "POST /shows": {
    action: "shows.create",
    summary: "Create a show tied to a Dead Nation event",
    body: CreateShowRequest,
    headers: [idempotencyKey(false)],
    responses: {
      201: { description: "Created; Location: /api/shows/{show_id}", body: ShowCreated },
      400: { description: "Invalid body" },
      409: { description: "dead_nation_id already used" },
      422: { description: "Idempotency-Key reused with another body" },
    },
  },
  "GET /shows": {
    action: "shows.list",
    summary: "Shows by start time, with the seats still for sale",
    query: ShowsQuery,
    responses: { 200: { description: "A page of shows", body: z.array(ShowView), headers: pageHeaders }, 400: badPage },
  },
  "GET /shows/:show_id": {
    action: "shows.get",
    summary: "One show, with the seats still for sale",
    params: z.object({ show_id: Uuid }),
    responses: {
      200: { description: "The show", body: ShowView },
      400: { description: "Invalid show ID format" },
      404: { description: "Show not found" },
    },
  },
  "GET /shows/:show_id/sales": {
    action: "ops.showSales",
    summary: "Ops read model: a show's tickets sold over time and its fulfilment funnel",
    params: z.object({ show_id: Uuid }),
    responses: { 200: { description: "The show's sales", body: ShowSales }, 400: { description: "Invalid show ID format" } },
  },
  "POST /book-tickets": {
    action: "bookings.book",
    summary: "Book seats of a show; never oversells",
    body: BookTicketsRequest,
    headers: [idempotencyKey(false)],
    responses: {
      201: {
        description: "Booked; Location: /api/ops/bookings/{booking_id} (the ops report's view, there once BookingMade_v1 is handled)",
        body: BookingCreated,
      },
      400: { description: "Invalid body, or not enough seats available" },
      404: { description: "Show not found" },
      422: { description: "Idempotency-Key reused with another body" },
    },
  },
  "GET /ops/bookings": {
    action: "ops.listBookings",
    summary: "Ops read model: bookings, newest first, a page at a time",
    query: OpsBookingsQuery,
    headers: [
      {
        name: "If-None-Match",
        required: false,
        description: "The ETag of an earlier answer: 304 with no body while the page is unchanged.",
      },
    ],
    responses: {
      200: {
        description: "A page of bookings",
        body: z.array(OpsBookingView),
        headers: { ...pageHeaders, ETag: { description: "Strong validator of this page (items and Link), for If-None-Match." } },
      },
      304: { description: "Not modified: the page is the one If-None-Match names" },
      400: badPage,
    },
  },
  "GET /ops/bookings/:id": {
    action: "ops.getBooking",
    summary: "Ops read model: one booking",
    params: z.object({ id: Uuid }),
    responses: {
      200: { description: "The booking", body: OpsBookingView },
      400: { description: "Invalid booking ID format" },
      404: { description: "Booking not found" },
    },
  },
  "PUT /ticket-refund/:ticket_id": {
    action: "refunds.requestRefund",
    summary: "Refund a ticket: voids its receipt and refunds the payment, asynchronously",
    params: TicketRefundParams,
    responses: {
      202: { description: "Refund requested (a repeat replays the 202 and sends nothing)" },
      400: { description: "Invalid ticket id" },
      404: { description: "Ticket not found" },
      409: { description: "Ticket was canceled" },
    },
  },
};

/** The moleculer-web aliases of a route table. */
export function aliasesOf(routes: Record<string, ApiRoute>): Record<string, string> {
  return Object.fromEntries(Object.entries(routes).map(([alias, route]) => [alias, route.action]));
}
