import { z } from "zod";
import { Email, Money, Uuid, withinStorableYears } from "./common.ts";

/** Request and response bodies of the public HTTP API; validation and the OpenAPI document use them. */

export const TicketStatusEntry = z.object({
  ticket_id: Uuid,
  /** Optional as in the original: a confirmation from the Pending page may not name its booking. */
  booking_id: z.union([Uuid, z.literal("")]).optional(),
  status: z.enum(["confirmed", "canceled"], { message: 'must be "confirmed" or "canceled"' }),
  price: Money,
  customer_email: Email,
});

export const TicketsStatusRequest = z.object({
  tickets: z
    .array(TicketStatusEntry, { error: "must be an array of tickets" })
    .min(1, "at least 1 ticket")
    .max(1000, "at most 1000 tickets per request"),
});
export type TicketsStatusRequest = z.infer<typeof TicketsStatusRequest>;

export const TicketView = z.object({
  ticket_id: Uuid,
  price: Money,
  customer_email: z.string(),
  /** Not in the seed: the booking the confirmation named, null when it named none. */
  booking_id: Uuid.nullable(),
});
export type TicketView = z.infer<typeof TicketView>;

export const ErrorResponse = z.object({
  error: z.string(),
  details: z.array(z.object({ field: z.string(), message: z.string() })).optional(),
});

/** A string with something in it besides spaces, trimmed, at most `max` characters (the columns are VARCHAR(255)). */
const Text = (max: number) => z.string().trim().min(1, "must not be empty").max(max, `at most ${max} characters`);

/** POST /api/shows. `start_time` may carry any offset; it is stored and shown in UTC. */
export const CreateShowRequest = z.object({
  dead_nation_id: Uuid,
  number_of_tickets: z.number().int("must be a whole number").positive("must be greater than 0").max(1_000_000, "at most 1000000"),
  start_time: z.iso
    .datetime({ offset: true, message: "must be an RFC 3339 time" })
    .refine(withinStorableYears, "must fall within the years 0001 to 9999 in UTC"),
  title: Text(255),
  venue: Text(255),
});
export type CreateShowRequest = z.infer<typeof CreateShowRequest>;

/** GET /api/shows entries: the original's fields plus the seats still for sale. */
export const ShowView = z.object({
  show_id: Uuid,
  dead_nation_id: Uuid,
  number_of_tickets: z.number().int().nonnegative(),
  start_time: z.iso.datetime(),
  title: z.string(),
  venue: z.string(),
  available_tickets: z.number().int().nonnegative(),
});
export type ShowView = z.infer<typeof ShowView>;

/** POST /api/book-tickets. */
export const BookTicketsRequest = z.object({
  show_id: Uuid,
  number_of_tickets: z
    .number()
    .int("must be a whole number")
    .positive("number of tickets must be greater than 0")
    .max(1_000_000, "at most 1000000"),
  customer_email: Email,
});
export type BookTicketsRequest = z.infer<typeof BookTicketsRequest>;

/** A calendar date, `YYYY-MM-DD`, that exists. */
export const CalendarDate = z.iso
  .date({ message: "must be a date like 2026-11-26" })
  .refine(withinStorableYears, "must fall within the years 0001 to 9999");

/**
 * Paging of the lists: `limit` (1…1000, default 1000) and the opaque `cursor` of a `Link: rel="next"`.
 * Query strings arrive as text, so the limit is read from its digits and nothing else.
 */
export const PAGE_LIMIT_MAX = 1000;
const PageLimit = z
  .string({ message: `must be a whole number from 1 to ${PAGE_LIMIT_MAX}` })
  .regex(/^[0-9]{1,4}$/, `must be a whole number from 1 to ${PAGE_LIMIT_MAX}`)
  .transform(Number)
  .refine((n) => n >= 1 && n <= PAGE_LIMIT_MAX, `must be a whole number from 1 to ${PAGE_LIMIT_MAX}`)
  .default(PAGE_LIMIT_MAX)
  .describe(
    `Most items on the page (1…${PAGE_LIMIT_MAX}, default ${PAGE_LIMIT_MAX}); a page may hold fewer, to stay under the transport's size.`,
  );
const PageCursor = z
  .string({ message: "must be the cursor of a Link header" })
  .min(1, "must be the cursor of a Link header")
  .max(512, "must be the cursor of a Link header")
  .optional()
  .describe('Where the page starts: copy it from the previous answer\'s `Link: <…>; rel="next"`; opaque.');
export const PageQuery = z.object({ limit: PageLimit, cursor: PageCursor });
export type PageQuery = z.infer<typeof PageQuery>;

/** GET /api/tickets query: by confirmation time (oldest first unless `order=newest`). */
export const TicketsQuery = PageQuery.extend({
  show_id: Uuid.optional().describe("Only tickets of this show's bookings"),
  booking_id: Uuid.optional().describe("Only tickets of this booking"),
  customer_email: z.string().trim().min(1, "must not be empty").max(255).optional().describe("Only this customer's tickets (any case)"),
  status: z
    .enum(["confirmed", "canceled"], { message: 'must be "confirmed" or "canceled"' })
    .default("confirmed")
    .describe("confirmed (default: the tickets not canceled) or canceled"),
  order: z.enum(["oldest", "newest"], { message: 'must be "oldest" or "newest"' }).default("oldest").describe("By confirmation time"),
});
export type TicketsQuery = z.infer<typeof TicketsQuery>;

/** GET /api/shows query: by start time. */
export const ShowsQuery = PageQuery.extend({
  upcoming: z
    .enum(["true", "false"], { message: 'must be "true" or "false"' })
    .transform((text) => text === "true")
    .optional()
    .describe("true: only shows that start in the future"),
});
export type ShowsQuery = z.infer<typeof ShowsQuery>;

/** GET /api/ops/bookings query: newest booking first. */
export const OpsBookingsQuery = PageQuery.extend({
  // only bookings with a ticket whose receipt was issued that UTC day
  receipt_issue_date: CalendarDate.optional(),
  show_id: Uuid.optional().describe("Only bookings of this show"),
});
export type OpsBookingsQuery = z.infer<typeof OpsBookingsQuery>;

/** The ops read model's ticket; unset times are "0001-01-01T00:00:00Z", unset strings "". */
export const OpsTicketView = z.object({
  price_amount: z.string(),
  price_currency: z.string(),
  customer_email: z.string(),
  confirmed_at: z.iso.datetime(),
  refunded_at: z.iso.datetime(),
  printed_at: z.iso.datetime(),
  printed_file_name: z.string(),
  receipt_issued_at: z.iso.datetime(),
  receipt_number: z.string(),
  /** Not in the original, which ignored cancellations. */
  canceled_at: z.iso.datetime(),
});
export type OpsTicketView = z.infer<typeof OpsTicketView>;

export const OpsBookingView = z.object({
  booking_id: Uuid,
  booked_at: z.iso.datetime(),
  tickets: z.record(Uuid, OpsTicketView),
  last_update: z.iso.datetime(),
  /** Not in the seed: the booked show, so a report can name it. */
  show_id: Uuid.optional(),
});
export type OpsBookingView = z.infer<typeof OpsBookingView>;

/** PUT /api/ticket-refund/:ticket_id (the path parameter). */
export const TicketRefundParams = z.object({ ticket_id: Uuid });
export type TicketRefundParams = z.infer<typeof TicketRefundParams>;

/** 201 answer of POST /api/shows. */
export const ShowCreated = z.object({ show_id: Uuid });

/** 201 answer of POST /api/book-tickets. */
export const BookingCreated = z.object({ booking_id: Uuid });

/** GET /api/shows/:show_id/sales: what the ops read model knows of one show's tickets. */
export const ShowSales = z.object({
  show_id: Uuid,
  /** Tickets confirmed (and not canceled) per time bucket, oldest first; `at` is the bucket's start. */
  sold_over_time: z.array(z.object({ at: z.iso.datetime(), tickets: z.number().int().nonnegative() })),
  /** How many tickets reached each step, and the median seconds from confirmation to it (null: none yet). */
  funnel: z.object({
    confirmed: z.number().int().nonnegative(),
    printed: z.number().int().nonnegative(),
    receipt: z.number().int().nonnegative(),
    refunded: z.number().int().nonnegative(),
    median_seconds_to_print: z.number().nullable(),
    median_seconds_to_receipt: z.number().nullable(),
    median_seconds_to_refund: z.number().nullable(),
  }),
});
export type ShowSales = z.infer<typeof ShowSales>;
