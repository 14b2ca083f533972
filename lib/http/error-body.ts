/** The body of every error response: `{"error": …}` plus field details for validation. */
export interface ErrorBody {
  error: string;
  details?: unknown;
}

interface AnyError {
  code?: unknown;
  status?: unknown;
  type?: unknown;
  message?: string;
  data?: unknown;
}

const bodyParserMessages: Record<string, string> = {
  "entity.parse.failed": "malformed JSON body",
  "entity.too.large": "request body too large",
  "encoding.unsupported": "unsupported content encoding",
  "charset.unsupported": "unsupported charset",
  "request.aborted": "request aborted",
};

/** zlib's codes for a body whose Content-Encoding it cannot decode: the client's bytes, not our failure. */
const isUndecodableBody = (error: AnyError) => typeof error.code === "string" && error.code.startsWith("Z_");

/**
 * Moleculer's errors for a routed call that found no live endpoint in time or no answer within the
 * request timeout: the cluster's trouble, not the client's (a 404 would also name the internal
 * action). Retrying later with the same Idempotency-Key is safe.
 */
const UNAVAILABLE_TYPES = new Set(["SERVICE_NOT_FOUND", "SERVICE_NOT_AVAILABLE", "REQUEST_TIMEOUT"]);

/** The HTTP status an error maps to: its own 4xx/5xx code, otherwise 500. */
export function statusOf(error: AnyError): number {
  if (typeof error.type === "string" && UNAVAILABLE_TYPES.has(error.type)) return 503;
  if (isUndecodableBody(error)) return 400;
  for (const candidate of [error.code, error.status]) {
    if (typeof candidate === "number" && candidate >= 400 && candidate < 600) return candidate;
  }
  return 500;
}

/** Client mistakes keep their message; anything else hides its internals. */
export function errorBody(error: AnyError): ErrorBody {
  const status = statusOf(error);
  if (status >= 500) return { error: status === 503 ? "Service unavailable" : "Internal server error" };
  if (isUndecodableBody(error)) return { error: "request body does not match its Content-Encoding" };
  const known = typeof error.type === "string" ? bodyParserMessages[error.type] : undefined;
  if (known) return { error: known };
  if (status === 404 && (error.type === "NOT_FOUND" || !error.message)) return { error: error.message || "Not found" };
  const body: ErrorBody = { error: error.message || "Bad request" };
  if (Array.isArray(error.data) && error.data.length > 0) body.details = error.data;
  return body;
}

/** Headers an error answer carries: when to retry a 503, what a 405's path takes. */
export function errorHeaders(error: AnyError & { allow?: unknown }, status: number): Record<string, string> {
  if (status === 503) return { "Retry-After": "1" };
  if (status === 405 && typeof error.allow === "string") return { Allow: error.allow };
  return {};
}

/** What the log needs to name a 5xx: class, code and message of the error and of each cause it wraps. */
export function describeFailure(error: unknown): Record<string, unknown>[] {
  const chain: Record<string, unknown>[] = [];
  for (let current = error, depth = 0; typeof current === "object" && current !== null && depth < 5; depth++) {
    const { name, code, type, message } = current as { name?: unknown; code?: unknown; type?: unknown; message?: unknown };
    chain.push({ class: current.constructor?.name ?? name, name, code, type, message });
    current = (current as { cause?: unknown }).cause;
  }
  return chain;
}
