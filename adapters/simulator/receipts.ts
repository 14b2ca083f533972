// The receipts partner: deduplicates issues on idempotency_key and voids on idempotent_id.
import { IssueReceiptBody, type ReceiptAnswer, VoidReceiptBody } from "../../contracts/partners.ts";
import { parseBody, type Reply, type Route } from "./http.ts";
import type { GatewaySimulatorState, StoredReceipt } from "./state.ts";

export function receiptRoutes(state: GatewaySimulatorState): Route[] {
  return [
    { method: "PUT", pattern: /^\/receipts-api\/receipts$/, handle: ({ raw }) => issue(state, parseBody(IssueReceiptBody, raw)) },
    { method: "PUT", pattern: /^\/receipts-api\/void-receipt$/, handle: ({ raw }) => voidReceipt(state, parseBody(VoidReceiptBody, raw)) },
  ];
}

/** 201 with a new receipt, 200 with the first one for a known key (whatever else the body says). */
function issue(state: GatewaySimulatorState, req: IssueReceiptBody): Reply {
  const existing = state.receipts.get(req.idempotency_key);
  if (existing) return { status: 200, body: existing satisfies ReceiptAnswer };
  // Receipts are never removed one by one (a reset clears them all), so their count numbers the next.
  const receipt: StoredReceipt = {
    number: `RCPT-${String(state.receipts.size + 1).padStart(6, "0")}`,
    issued_at: new Date().toISOString(),
    ...req,
  };
  state.receipts.set(receipt.idempotency_key, receipt);
  return { status: 201, body: receipt };
}

/** The first void of an idempotent_id marks the ticket's receipts; every void answers 200. */
function voidReceipt(state: GatewaySimulatorState, req: VoidReceiptBody): Reply {
  if (!state.voids.has(req.idempotent_id)) {
    state.voids.set(req.idempotent_id, { ...req, voided_at: new Date().toISOString() });
    for (const receipt of state.receipts.values()) {
      if (receipt.ticket_id === req.ticket_id) Object.assign(receipt, { voided: true, void_reason: req.reason });
    }
  }
  return { status: 200, body: {} };
}
