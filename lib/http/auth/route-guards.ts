import type { IncomingMessage, ServerResponse } from "node:http";
import { HttpError } from "../http-errors.ts";
import type { AccessControl, AccessRequest } from "./access-control.ts";
import { requirementOf } from "./route-access.ts";

interface GatewayWithAccess {
  access: AccessControl;
}

/**
 * moleculer-web's `authorization` hook of a route: runs once the alias is found and before its
 * action or handler, so an unknown path stays a 404 and a refusal has no effect.
 */
export async function authorizeAlias(
  this: GatewayWithAccess,
  _ctx: unknown,
  _route: unknown,
  req: AccessRequest,
  res: ServerResponse,
  alias: { method: string; fullPath: string },
): Promise<void> {
  await this.access.authorize(req, res, requirementOf(alias.method, alias.fullPath));
}

/**
 * The `/admin` gate, before any alias is looked up (its paths are not for guessing): in development
 * mode the route does not exist (404), as before there were credentials; otherwise an admin only.
 */
export async function guardAdminRoute(access: AccessControl, req: IncomingMessage, res: ServerResponse): Promise<void> {
  if ((await access.mode()) === "development") throw new HttpError(404, "Not found");
  await access.authorize(req, res, { role: "admin" });
}

/** The JSON body's bytes as received (the json body parser's `verify` hook), for the partner signature. */
export function keepRawBody(req: AccessRequest, _res: unknown, buffer: Buffer): void {
  req.rawBody = buffer;
}

/** Whether this request may see `/ready`'s checks. */
export const seesReadinessDetails = (access: AccessControl, req: AccessRequest) => access.seesDetails(req.$principal ?? null);
