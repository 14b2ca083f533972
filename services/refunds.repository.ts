import type { Database, Transaction } from "../lib/database/db.ts";
import { TicketBookingConfirmed_v1 } from "../contracts/index.ts";

/** What a refund request may find: a stored ticket, a canceled one, one still being stored, or none. */
export type TicketStanding = "stored" | "canceled" | "being_stored" | "unknown";

/**
 * How far back an accepted confirmation counts as "being stored": StoreTicket normally lags by
 * milliseconds; the bound keeps the outbox look-up on its small recent part.
 */
const BEING_STORED_HORIZON = "10 minutes";

export async function ticketStanding(db: Database, ticketId: string): Promise<TicketStanding> {
  const ticket = await db("tickets").select("deleted_at").where({ ticket_id: ticketId }).first();
  if (ticket) return ticket.deleted_at === null ? "stored" : "canceled";
  return (await confirmationAwaitingStore(db, ticketId)) ? "being_stored" : "unknown";
}

/**
 * A confirmation of the ticket that the outbox accepted recently: the ticket exists, StoreTicket
 * just has not written it yet. Found by the expression index of migration 034, however large the outbox.
 */
async function confirmationAwaitingStore(db: Database, ticketId: string): Promise<boolean> {
  return (await confirmationAwaitingStoreQuery(db, ticketId)) !== undefined;
}

export function confirmationAwaitingStoreQuery(db: Database, ticketId: string) {
  return db("outbox")
    .first(db.raw("1 AS found"))
    .where({ name: TicketBookingConfirmed_v1.name })
    .whereRaw("lower(payload::jsonb->>'ticket_id') = ?", [ticketId.toLowerCase()])
    .where((recent) => recent.whereNull("published_at").orWhere("published_at", ">", db.raw(`now() - interval '${BEING_STORED_HORIZON}'`)));
}

export async function isStored(trx: Transaction, ticketId: string): Promise<boolean> {
  return (await trx("tickets").first("ticket_id").where({ ticket_id: ticketId })) !== undefined;
}
