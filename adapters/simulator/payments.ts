// The payments partner: refunds deduplicate on deduplication_id.
import { RefundBody, type RefundAnswer } from "../../contracts/partners.ts";
import { parseBody, type Reply, type Route } from "./http.ts";
import type { GatewaySimulatorState } from "./state.ts";

export function paymentRoutes(state: GatewaySimulatorState): Route[] {
  return [{ method: "PUT", pattern: /^\/payments-api\/refunds$/, handle: ({ raw }) => refund(state, parseBody(RefundBody, raw)) }];
}

/** 201 with a new refund, 200 with the first one for a known deduplication_id. */
function refund(state: GatewaySimulatorState, req: RefundBody): Reply {
  const existing = state.refunds.get(req.deduplication_id);
  if (existing) return { status: 200, body: existing };
  const stored: RefundAnswer = { ...req, refunded_at: new Date().toISOString() };
  state.refunds.set(stored.deduplication_id, stored);
  return { status: 201, body: stored };
}
