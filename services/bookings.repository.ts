import type { BookTicketsRequest } from "../contracts/http.ts";
import type { Transaction } from "../lib/database/db.ts";

/**
 * Takes `seats` seats of a show, or none; false when they are not there. One conditional UPDATE: a
 * concurrent booker of the same show waits for the row lock and then re-checks the condition
 * against the committed count, so a loser matches no row (never a serialization failure). The
 * CHECK on shows is the backstop.
 */
export async function takeSeats(trx: Transaction, showId: string, seats: number): Promise<boolean> {
  const updated = await trx("shows")
    .where("show_id", showId)
    .andWhereRaw("number_of_tickets - booked >= ?", [seats])
    .update({ booked: trx.raw("booked + ?", [seats]) })
    .returning("show_id");
  return updated.length > 0;
}

const FOREIGN_KEY_VIOLATION = "23503";

/** False when the show does not exist (the foreign key says so; its check does not wait for seat updates). */
export async function insertBooking(trx: Transaction, bookingId: string, booking: BookTicketsRequest): Promise<boolean> {
  try {
    await trx("bookings").insert({
      booking_id: bookingId,
      show_id: booking.show_id,
      number_of_tickets: booking.number_of_tickets,
      customer_email: booking.customer_email,
    });
    return true;
  } catch (error) {
    if ((error as { code?: string }).code === FOREIGN_KEY_VIOLATION) return false;
    throw error;
  }
}

/** The Dead Nation event id of a show, or undefined when there is no such show. */
export async function deadNationEventOf(trx: Transaction, showId: string): Promise<string | undefined> {
  const show = await trx("shows").select("dead_nation_id").where("show_id", showId).first();
  return show?.dead_nation_id;
}
