import type { IncomingMessage, ServerResponse } from "node:http";
import type { CorsPolicy } from "./cors.ts";

/**
 * Answers an OPTIONS request without routing it: browsers send preflights on their own, so one
 * must never reach an action. An allowed origin asking for a method the path takes gets the CORS
 * preflight answer; anyone else gets the path's Allow and no CORS headers.
 */
export function answerOptions(req: IncomingMessage, res: ServerResponse, allowed: string[], cors: CorsPolicy | undefined): void {
  const headers: Record<string, string> = { Allow: allowed.join(", "), "Content-Length": "0" };
  const origin = req.headers.origin;
  const requested = String(req.headers["access-control-request-method"] ?? "").toUpperCase();
  if (cors && origin) headers.Vary = "Origin";
  if (cors && origin && cors.origin.includes(origin) && allowed.includes(requested)) {
    Object.assign(headers, {
      "Access-Control-Allow-Origin": origin,
      "Access-Control-Allow-Methods": allowed.filter((method) => cors.methods.includes(method)).join(", "),
      "Access-Control-Allow-Headers": cors.allowedHeaders.join(", "),
      "Access-Control-Max-Age": String(cors.maxAge),
    });
  }
  res.writeHead(204, headers);
  res.end();
}
