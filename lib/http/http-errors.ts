import moleculer from "moleculer";
import type { z } from "zod";

const { MoleculerClientError } = moleculer.Errors;

/** A client mistake with its HTTP status; the api-gateway renders it as {"error": message, details?}. */
export class HttpError extends MoleculerClientError {
  constructor(status: number, message: string, details?: unknown) {
    super(message, status, httpErrorType(status), details);
  }
}

function httpErrorType(status: number): string {
  return (
    (
      {
        400: "BAD_REQUEST",
        404: "NOT_FOUND",
        405: "METHOD_NOT_ALLOWED",
        409: "CONFLICT",
        413: "PAYLOAD_TOO_LARGE",
        415: "UNSUPPORTED_MEDIA_TYPE",
        422: "UNPROCESSABLE_ENTITY",
      } as Record<number, string>
    )[status] ?? "CLIENT_ERROR"
  );
}

export interface FieldProblem {
  field: string;
  message: string;
}

/** Validates input against a zod schema; failure is a 400 naming every bad field, each once. */
export function validate<S extends z.ZodType>(schema: S, input: unknown): z.infer<S> {
  const parsed = schema.safeParse(input);
  if (parsed.success) return parsed.data;
  // zod goes on checking a value after its first failed check; a client needs the first problem of each field
  const byField = new Map<string, FieldProblem>();
  for (const issue of parsed.error.issues) {
    const field = issue.path.join(".") || "(body)";
    if (!byField.has(field)) byField.set(field, { field, message: issue.message });
  }
  const details = [...byField.values()];
  throw new HttpError(400, `invalid request: ${details.map((d) => `${d.field}: ${d.message}`).join("; ")}`, details);
}
