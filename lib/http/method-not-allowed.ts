import type { IncomingMessage } from "node:http";
import { HttpError } from "./http-errors.ts";

/** What this file needs of a moleculer-web alias. */
export interface GatewayAlias {
  method: string;
  match(url: string): unknown;
  route: { path: string };
}

/** A known path asked with a method it does not take; `allow` is its Allow header. */
export class MethodNotAllowed extends HttpError {
  readonly allow: string;
  constructor(allowed: string[]) {
    super(405, `method not allowed; this path takes ${allowed.join(", ")}`);
    this.allow = allowed.join(", ");
  }
}

/** The path as moleculer-web matches it: no query, no trailing slash. */
export function routedPath(req: IncomingMessage): string {
  const path = (req.url ?? "/").split("?")[0]!;
  return path.length > 1 && path.endsWith("/") ? path.slice(0, -1) : path;
}

/** The methods the aliases take on `path`, HEAD wherever GET is, OPTIONS wherever any is. */
export function allowedMethods(aliases: GatewayAlias[], path: string): string[] {
  const methods = new Set(aliases.filter((alias) => alias.match(path)).map((alias) => alias.method.toUpperCase()));
  if (methods.has("GET")) methods.add("HEAD");
  if (methods.size > 0) methods.add("OPTIONS");
  return [...methods];
}

/** 405 for a path some alias takes with other methods, 404 for a path none takes. */
export function unroutable(aliases: GatewayAlias[], path: string): HttpError {
  const allowed = allowedMethods(aliases, path);
  return allowed.length > 0 ? new MethodNotAllowed(allowed) : new HttpError(404, "Not found");
}
