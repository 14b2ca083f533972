import { z } from "zod";
import { Email, Money, Uuid } from "./common.ts";

/** Request and response bodies of the public HTTP API; validation and the OpenAPI document use them. */

export const TicketStatusEntry = z.object({
  ticket_id: Uuid,
  /** Optional as in the seed: a confirmation from the Pending page may not name its booking. */
  booking_id: z.union([Uuid, z.literal("")]).optional(),
  status: z.enum(["confirmed", "canceled"], { message: 'must be "confirmed" or "canceled"' }),
  price: Money,
  customer_email: Email,
});

export const TicketsStatusRequest = z.object({
  tickets: z.array(TicketStatusEntry).max(1000, "at most 1000 tickets per request").default([]),
});
export type TicketsStatusRequest = z.infer<typeof TicketsStatusRequest>;

export const TicketView = z.object({
  ticket_id: Uuid,
  price: Money,
  customer_email: z.string(),
});
export type TicketView = z.infer<typeof TicketView>;

export const ErrorResponse = z.object({
  error: z.string(),
  details: z.array(z.object({ field: z.string(), message: z.string() })).optional(),
});

/** PUT /api/ticket-refund/:ticket_id (the path parameter). */
export const TicketRefundParams = z.object({ ticket_id: Uuid });
export type TicketRefundParams = z.infer<typeof TicketRefundParams>;
