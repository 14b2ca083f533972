import type { Transaction } from "../lib/database/db.ts";

/** The two ways a ticket's money goes back: the customer's refund request, or the partner's cancellation. */
export type RefundPath = "refund_request" | "cancellation";

/**
 * Claims the ticket's refund for `path` inside the transaction of that path's gateway calls, and
 * says which path holds it. A concurrent claim waits for this transaction: a rollback (a failed
 * call) leaves the ticket to whichever path comes next, a commit keeps it for this one.
 */
export async function claimRefund(trx: Transaction, ticketId: string, path: RefundPath): Promise<RefundPath> {
  await trx("ticket_refund_claims").insert({ ticket_id: ticketId, via: path }).onConflict("ticket_id").ignore();
  const claim = await trx("ticket_refund_claims").first("via").where({ ticket_id: ticketId });
  return claim.via as RefundPath;
}
