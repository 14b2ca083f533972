import type { Role } from "./roles.ts";

/**
 * What a route asks of its caller: a staff role; a partner signature or an operator (the Pending
 * page posts callbacks by hand); the scrape token or an admin; or nothing (the docs, rate-limited
 * per client; liveness, never limited, as probes come often from one address).
 * `GET /ready` is open but shows its checks only to a scraper or an admin.
 */
export type Requirement = { role: Role } | "partner-or-operator" | "scrape" | "readiness" | "open" | "liveness";

const viewer = { role: "viewer" } as const;
const operator = { role: "operator" } as const;

/** The public API by its aliases relative to `/api` (lib/http/api-routes.ts); a route missing here is admin-only. */
export const apiAccess: Record<string, Requirement> = {
  "POST /tickets-status": "partner-or-operator",
  "GET /tickets": viewer,
  "POST /shows": operator,
  "GET /shows": viewer,
  "GET /shows/:show_id": viewer,
  "GET /shows/:show_id/sales": viewer,
  "POST /book-tickets": operator,
  "GET /ops/bookings": viewer,
  "GET /ops/bookings/:id": viewer,
  "PUT /ticket-refund/:ticket_id": operator,
};

/** The operational routes outside `/api`'s table, by full path. */
const operationalAccess: Record<string, Requirement> = {
  "GET /health": "liveness",
  "GET /ready": "readiness",
  "GET /metrics": "scrape",
  "GET /api/openapi.json": "open",
  "GET /api/docs": "open",
};

const ADMIN_ONLY: Requirement = { role: "admin" };

/** The requirement of a routed alias by method and full path (`POST /api/tickets-status`). */
export function requirementOf(method: string, fullPath: string): Requirement {
  const key = `${method.toUpperCase()} ${fullPath}`;
  if (key in operationalAccess) return operationalAccess[key]!;
  const apiKey = key.replace(" /api/", " /");
  return fullPath.startsWith("/api/") && apiKey in apiAccess ? apiAccess[apiKey]! : ADMIN_ONLY;
}
