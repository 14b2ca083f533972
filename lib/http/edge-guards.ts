import type { IncomingMessage, ServerResponse } from "node:http";

/** Headers a client chooses that travel into logs, messages and partner calls: capped, as the id they stand for needs no more. */
export const HEADER_LIMITS: Record<string, number> = {
  "correlation-id": 128,
  "idempotency-key": 128,
  "x-request-id": 128,
};

// No inline script anywhere (web/ loads modules from 'self'); the favicon is a data: URL; the API docs page styles itself inline.
const CSP = "default-src 'self'; img-src 'self' data:; object-src 'none'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'";
const DOCS_CSP = "default-src 'none'; style-src 'unsafe-inline'; base-uri 'none'; form-action 'none'; frame-ancestors 'none'";

/** What a browser needs to refuse framing, sniffing, referrer leaks and foreign scripts; set on every response. */
export function setBrowserHeaders(req: IncomingMessage, res: ServerResponse): void {
  const path = (req.url ?? "/").split("?")[0];
  res.setHeader("Content-Security-Policy", path === "/api/docs" ? DOCS_CSP : CSP);
  res.setHeader("X-Content-Type-Options", "nosniff");
  res.setHeader("X-Frame-Options", "DENY");
  res.setHeader("Referrer-Policy", "no-referrer");
  res.setHeader("Cross-Origin-Opener-Policy", "same-origin");
}

/** The first capped header that is too long, as a message; undefined when all fit. */
export function oversizedHeader(req: IncomingMessage): string | undefined {
  for (const [name, max] of Object.entries(HEADER_LIMITS)) {
    const value = req.headers[name];
    const length = Array.isArray(value) ? value.join(",").length : (value?.length ?? 0);
    if (length > max) return `${name} header too long (${length} characters, at most ${max})`;
  }
  return undefined;
}

/**
 * Runs before routing: browser headers on every answer, and a 400 for an over-long id header before
 * it is echoed, logged or forwarded. False when the request was answered here.
 */
export function passesEdgeChecks(req: IncomingMessage, res: ServerResponse): boolean {
  setBrowserHeaders(req, res);
  const problem = oversizedHeader(req);
  if (!problem) return true;
  req.resume();
  res.writeHead(400, { "Content-Type": "application/json; charset=utf-8", Connection: "close" });
  res.end(JSON.stringify({ error: problem }));
  return false;
}
