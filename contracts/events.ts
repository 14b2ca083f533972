import { z } from "zod";
import { defineEvent, Money, Uuid, UtcTime } from "./common.ts";

/** The events of the original system, field order as its Go structs (JSON keys follow the schema's order). */

export const TicketBookingConfirmed_v1 = defineEvent("TicketBookingConfirmed_v1", {
  /** Empty when the confirmation did not name a booking (the original's first scenario does this). */
  booking_id: z.union([Uuid, z.literal("")]),
  ticket_id: Uuid,
  customer_email: z.string().max(255),
  price: Money,
});

export const TicketBookingCanceled_v1 = defineEvent("TicketBookingCanceled_v1", {
  ticket_id: Uuid,
  customer_email: z.string().max(255),
  price: Money,
});

export const TicketPrinted_v1 = defineEvent("TicketPrinted_v1", {
  ticket_id: Uuid,
  file_name: z.string().min(1),
});

export const TicketReceiptIssued_v1 = defineEvent("TicketReceiptIssued_v1", {
  ticket_id: Uuid,
  receipt_number: z.string().min(1),
  issued_at: UtcTime,
});

export const TicketRefunded_v1 = defineEvent("TicketRefunded_v1", {
  ticket_id: Uuid,
});

export const BookingMade_v1 = defineEvent("BookingMade_v1", {
  number_of_tickets: z.number().int().positive(),
  booking_id: Uuid,
  customer_email: z.string().max(255),
  show_id: Uuid,
});
