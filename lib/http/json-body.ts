import type { IncomingMessage, ServerResponse } from "node:http";
import bodyParser from "body-parser";
import { carriesBody, isJsonMediaType } from "./content-type.ts";
import { HttpError } from "./http-errors.ts";
import { firstUnholdableValue } from "./json-limits.ts";

type Next = (error?: unknown) => void;
type BodyRequest = IncomingMessage & { body?: unknown; query?: unknown };

const refused = (field: string, message: string) => new HttpError(400, `invalid request: ${field}: ${message}`, [{ field, message }]);

/**
 * What a request body must be, as one route middleware: JSON by its content type (anything else
 * is 415, never parsed as empty), within `limit`, an object, and made only of values Postgres and
 * the partners can hold (the query string too, since its values reach the actions beside the body).
 * `verify` sees the raw bytes (a partner's signature is over them).
 */
export function jsonBody(limit: string, verify?: (req: IncomingMessage, res: ServerResponse, body: Buffer) => void) {
  const parse = bodyParser.json({ limit, strict: true, verify, type: (req) => isJsonMediaType(req.headers["content-type"]) });
  const inspect = (req: BodyRequest, next: Next) => {
    if (req.body !== undefined && (req.body === null || typeof req.body !== "object" || Array.isArray(req.body)))
      return next(refused("(body)", "must be a JSON object"));
    const problem = firstUnholdableValue(req.body) ?? firstUnholdableValue(req.query);
    next(problem ? refused(problem.field, problem.message) : undefined);
  };
  return function jsonBodyMiddleware(req: BodyRequest, res: ServerResponse, next: Next) {
    // Without bytes there is nothing to parse, whatever Content-Type announces (fetch sends Content-Length: 0 on a bare PUT).
    if (!carriesBody(req)) return inspect(req, next);
    if (!isJsonMediaType(req.headers["content-type"]))
      return next(new HttpError(415, "request body must be JSON (Content-Type: application/json)"));
    parse(req, res, (error?: unknown) => (error ? next(error) : inspect(req, next)));
  };
}
