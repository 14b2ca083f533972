import type { Database } from "../lib/database/db.ts";
import type { Money } from "../contracts/index.ts";
import type { TicketView } from "../contracts/http.ts";

export interface TicketFacts {
  ticket_id: string;
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
  await db("tickets").insert(row(ticket)).onConflict("ticket_id").ignore();
}

export async function cancel(db: Database, ticket: TicketFacts): Promise<void> {
  await db("tickets")
    .insert({ ...row(ticket), deleted_at: db.fn.now() })
    .onConflict("ticket_id")
    .merge({ deleted_at: db.raw("COALESCE(tickets.deleted_at, excluded.deleted_at)") });
}

export async function listActive(db: Database): Promise<TicketView[]> {
  const rows = await db("tickets")
    .select("ticket_id", "price_amount", "price_currency", "customer_email")
    .whereNull("deleted_at")
    .orderBy("ticket_id");
  return rows.map((r) => ({
    ticket_id: r.ticket_id,
    price: { amount: r.price_amount, currency: r.price_currency.trim() },
    customer_email: r.customer_email,
  }));
}
