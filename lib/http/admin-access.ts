import { createHash, timingSafeEqual } from "node:crypto";
import type { IncomingMessage, ServerResponse } from "node:http";
import { HttpError } from "./http-errors.ts";
import { requestHeader } from "./request-context.ts";

const digest = (text: string) => createHash("sha256").update(text).digest();

/**
 * The gate of the `/admin` route, run before any alias or action is looked up: without an
 * ADMIN_TOKEN the route does not exist (404); with one, a request must present it as
 * `Authorization: Bearer <token>` (401 otherwise). Compared in constant time.
 */
export function checkAdminAccess(adminToken: string | undefined, req: IncomingMessage, res: ServerResponse): void {
  if (!adminToken) throw new HttpError(404, "Not found");
  const presented = /^Bearer\s+(\S+)\s*$/i.exec(requestHeader(req, "Authorization") ?? "")?.[1];
  if (!presented || !timingSafeEqual(digest(presented), digest(adminToken))) {
    res.setHeader("WWW-Authenticate", 'Bearer realm="tickets-admin"');
    throw new HttpError(401, "a valid admin token is required (Authorization: Bearer <ADMIN_TOKEN>)");
  }
}
