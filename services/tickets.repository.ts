import type { Database } from "../lib/database/db.ts";
import type { Money } from "../contracts/index.ts";
import type { TicketsQuery, TicketView } from "../contracts/http.ts";
import { keysetPage, positionOf, type KeysetOrder } from "../lib/database/keyset.ts";
import { cutPage, type Page } from "../lib/http/pagination.ts";

export interface TicketFacts {
  ticket_id: string;
  /** Empty or absent when the confirmation named no booking. */
  booking_id?: string;
  customer_email: string;
  price: Money;
}

const row = (ticket: TicketFacts) => ({
  ticket_id: ticket.ticket_id,
  price_amount: ticket.price.amount,
  price_currency: ticket.price.currency,
  customer_email: ticket.customer_email,
});

export async function store(db: Database, ticket: TicketFacts): Promise<void> {
  await storeAll(db, [ticket]);
}

/** The booking's show is looked up once here, so the list filters by show on an index of its own. One INSERT for them all; a ticket stored already is kept as it is. */
export async function storeAll(db: Database, tickets: TicketFacts[]): Promise<void> {
  const rows = tickets.map((ticket) => {
    const bookingId = ticket.booking_id || null;
    return {
      ...row(ticket),
      booking_id: bookingId,
      show_id: bookingId ? db.raw("(SELECT show_id FROM bookings WHERE booking_id = ?)", [bookingId]) : null,
    };
  });
  await db("tickets").insert(rows).onConflict("ticket_id").ignore();
}

export async function cancel(db: Database, ticket: TicketFacts): Promise<void> {
  await db("tickets")
    .insert({ ...row(ticket), deleted_at: db.fn.now() })
    .onConflict("ticket_id")
    .merge({ deleted_at: db.raw("COALESCE(tickets.deleted_at, excluded.deleted_at)") });
}

const byConfirmation = (direction: KeysetOrder["direction"]): KeysetOrder => ({
  time: "confirmed_at",
  id: "ticket_id",
  timeType: "timestamptz",
  direction,
});

/** One page of tickets by confirmation time; every filter has its index (migration 030). */
export async function listPage(db: Database, query: TicketsQuery): Promise<Page<TicketView>> {
  const select = db("tickets").select("ticket_id", "price_amount", "price_currency", "customer_email", "booking_id");
  if (query.status === "confirmed") select.whereNull("deleted_at");
  else select.whereNotNull("deleted_at");
  if (query.show_id) select.where("show_id", query.show_id);
  if (query.booking_id) select.where("booking_id", query.booking_id);
  if (query.customer_email) select.whereRaw("lower(customer_email) = lower(?)", [query.customer_email]);
  const rows = await keysetPage(select, db, byConfirmation(query.order === "newest" ? "desc" : "asc"), query);
  return cutPage(rows, query.limit, toView, positionOf("ticket_id"));
}

interface TicketRow {
  ticket_id: string;
  price_amount: string;
  price_currency: string;
  customer_email: string;
  booking_id: string | null;
}

function toView(r: TicketRow): TicketView {
  return {
    ticket_id: r.ticket_id,
    price: { amount: r.price_amount, currency: r.price_currency.trim() },
    customer_email: r.customer_email,
    booking_id: r.booking_id,
  };
}
