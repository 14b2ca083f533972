import type { IncomingMessage, ServerResponse } from "node:http";
import type { CorsPolicy } from "./cors.ts";
import { HttpError } from "./http-errors.ts";
import { allowedMethods, type GatewayAlias, routedPath, unroutable } from "./method-not-allowed.ts";
import { answerOptions } from "./preflight.ts";

export interface EdgePolicy {
  cors: CorsPolicy | undefined;
  /** Route paths whose own gate must speak first (credentials before a 405 that names the methods). */
  gatedRoutes: string[];
}

export interface EdgeGateway {
  aliases: GatewayAlias[];
  sendError(req: IncomingMessage, res: ServerResponse, error: unknown): void;
}

/**
 * What the api-gateway settles before moleculer-web routes a request, which would otherwise run
 * the action named by a preflight's Access-Control-Request-Method and 404 a known path asked with
 * another method. True when the request has been answered.
 */
export function answeredAtTheEdge(gateway: EdgeGateway, req: IncomingMessage, res: ServerResponse, policy: EdgePolicy): boolean {
  // HEAD is GET without the body; Node drops the body of a response to a HEAD request itself.
  if (req.method === "HEAD") req.method = "GET";
  try {
    return answered(gateway, req, res, policy);
  } catch (error) {
    // moleculer-web's alias matching throws a 400 for a path it cannot decode (`/api/shows/%ff`)
    gateway.sendError(req, res, error);
    return true;
  }
}

function answered(gateway: EdgeGateway, req: IncomingMessage, res: ServerResponse, policy: EdgePolicy): boolean {
  // An empty segment is no resource (`/admin/dead-letters//` is not the list), though routing would collapse it.
  if ((req.url ?? "/").split("?")[0]!.includes("//")) {
    gateway.sendError(req, res, new HttpError(404, "Not found"));
    return true;
  }
  const path = routedPath(req);
  if (req.method === "OPTIONS") {
    const allowed = allowedMethods(gateway.aliases, path);
    if (allowed.length > 0) answerOptions(req, res, allowed, policy.cors);
    else gateway.sendError(req, res, new HttpError(404, "Not found"));
    return true;
  }
  const open = gateway.aliases.filter((alias) => !policy.gatedRoutes.includes(alias.route.path));
  const method = req.method ?? "GET";
  if (open.some((alias) => alias.method.toUpperCase() === method && alias.match(path))) return false;
  const refusal = unroutable(open, path);
  if (refusal.code !== 405) return false;
  gateway.sendError(req, res, refusal);
  return true;
}
