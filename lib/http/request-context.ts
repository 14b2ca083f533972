import { randomUUID } from "node:crypto";
import type { IncomingMessage, ServerResponse } from "node:http";
import { newCorrelationId } from "../observability/correlation-id.ts";

export interface StampedRequest extends IncomingMessage {
  $stamp?: { requestId: string; correlationId: string };
}

const header = (req: IncomingMessage, name: string): string | undefined => {
  const value = req.headers[name];
  return (Array.isArray(value) ? value[0] : value)?.trim() || undefined;
};

/**
 * Reads or generates the request id and correlation id and echoes both on the response. Called
 * from every path a response can take (including body-parser errors, which run before the route's
 * hooks), and idempotent.
 */
export function stampRequest(req: StampedRequest, res: ServerResponse): { requestId: string; correlationId: string } {
  if (!req.$stamp) {
    req.$stamp = {
      requestId: header(req, "x-request-id") ?? randomUUID(),
      correlationId: header(req, "correlation-id") ?? newCorrelationId(),
    };
  }
  if (!res.headersSent) {
    res.setHeader("X-Request-Id", req.$stamp.requestId);
    res.setHeader("Correlation-ID", req.$stamp.correlationId);
  }
  return req.$stamp;
}

export function requestHeader(req: IncomingMessage, name: string): string | undefined {
  return header(req, name.toLowerCase());
}
