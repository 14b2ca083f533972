import type { OpenApiDocument } from "../openapi.ts";
import { CSRF_HEADER, SESSION_COOKIE } from "./credentials.ts";
import { SIGNATURE_HEADER } from "./partner-signature.ts";
import { type Requirement, requirementOf } from "./route-access.ts";

const securitySchemes = {
  bearerToken: {
    type: "http",
    scheme: "bearer",
    description: "An API token (`npm run users -- token add <user>`) acting with its user's role, or ADMIN_TOKEN (admin).",
  },
  sessionCookie: {
    type: "apiKey",
    in: "cookie",
    name: SESSION_COOKIE,
    description: `The console's sign-in (POST /api/session). State-changing requests must also send the session's \`${CSRF_HEADER}\`.`,
  },
  partnerSignature: {
    type: "apiKey",
    in: "header",
    name: SIGNATURE_HEADER,
    description:
      '`t=<unix seconds>,v1=<hex HMAC-SHA256 of "t.body" under PARTNER_SIGNING_SECRET>`; at most 5 minutes off, each accepted once.',
  },
};

const staff: Record<string, string[]>[] = [{ bearerToken: [] }, { sessionCookie: [] }];

function securityOf(requirement: Requirement): Record<string, string[]>[] {
  if (requirement === "partner-or-operator") return [{ partnerSignature: [] }, ...staff];
  if (requirement === "open" || requirement === "readiness" || requirement === "liveness") return [];
  if (requirement === "scrape") return [{ bearerToken: [] }];
  return staff;
}

const roleOf = (requirement: Requirement) =>
  typeof requirement === "object"
    ? requirement.role
    : requirement === "partner-or-operator"
      ? "operator (or a signed partner callback)"
      : null;

const errorContent = { "application/json": { schema: { $ref: "#/components/schemas/ErrorResponse" } } };

/**
 * The document with its security schemes and, per operation, what it accepts (`security`), the role
 * it needs (`x-required-role`) and the refusals that follow. In development mode (nothing configured)
 * the node does not enforce them; the document describes the configured system.
 */
export function withSecurity(doc: OpenApiDocument): OpenApiDocument {
  for (const [path, operations] of Object.entries(doc.paths)) {
    for (const [method, operation] of Object.entries(operations)) {
      const requirement = requirementOf(method, path.replace(/\{([A-Za-z0-9_]+)\}/g, ":$1"));
      const secured = operation as typeof operation & { security?: unknown; "x-required-role"?: string | null };
      secured.security = securityOf(requirement);
      secured["x-required-role"] = roleOf(requirement);
      operation.responses["401"] ??= { description: "No valid credentials (token, session or partner signature)", content: errorContent };
      operation.responses["403"] ??= { description: `Role too low, or a session request without ${CSRF_HEADER}`, content: errorContent };
      operation.responses["429"] ??= { description: "Too many attempts from this client", content: errorContent };
    }
  }
  doc.components.securitySchemes = securitySchemes;
  doc.info.description += ` Access: ${Object.keys(securitySchemes).join(", ")} (see each operation's security and x-required-role).`;
  return doc;
}
