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

/** The HTTP status an error maps to: its own 4xx/5xx code, otherwise 500. */
export function statusOf(error: AnyError): number {
  for (const candidate of [error.code, error.status]) {
    if (typeof candidate === "number" && candidate >= 400 && candidate < 600) return candidate;
  }
  return 500;
}

/** Client mistakes keep their message; anything else hides its internals. */
export function errorBody(error: AnyError): ErrorBody {
  const status = statusOf(error);
  if (status >= 500) return { error: status === 503 ? "Service unavailable" : "Internal server error" };
  const known = typeof error.type === "string" ? bodyParserMessages[error.type] : undefined;
  if (known) return { error: known };
  if (status === 404 && (error.type === "NOT_FOUND" || !error.message)) return { error: error.message || "Not found" };
  const body: ErrorBody = { error: error.message || "Bad request" };
  if (Array.isArray(error.data) && error.data.length > 0) body.details = error.data;
  return body;
}
