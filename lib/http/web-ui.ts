import { readFile } from "node:fs/promises";
import type { IncomingMessage, ServerResponse } from "node:http";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import ApiGateway from "moleculer-web";

/** The browser UI: plain static files, no build step. */
export const webRoot = fileURLToPath(new URL("../../web/", import.meta.url));

/** Served by their own aliases; should one be missing, it must 404, not look alive with HTML. */
const operationalPaths = new Set(["/health", "/ready", "/metrics"]);

type GatewayRequest = IncomingMessage & { originalUrl?: string };

// moleculer-web rewrites req.url relative to the route it matched (/api/app.js → /app.js);
// originalUrl keeps the path the client asked for.
const pathOf = (req: GatewayRequest) => new URL(req.originalUrl ?? req.url ?? "/", "http://ui").pathname;
const isApiPath = (path: string) => path === "/api" || path.startsWith("/api/");

/**
 * The static server moleculer-web calls for requests no alias claimed (its `this.serve`): files of
 * web/ by the path the client asked for, never under /api. Misses go to `next` (the gateway's 404).
 */
export function webUiServer() {
  const serve = ApiGateway.serveStatic(webRoot, { index: "index.html", fallthrough: true });
  return (req: GatewayRequest, res: ServerResponse, next: (error?: unknown) => void) => {
    if (isApiPath(pathOf(req))) return next();
    if (req.originalUrl) req.url = req.originalUrl;
    serve(req as Parameters<typeof serve>[0], res as Parameters<typeof serve>[1], next);
  };
}

/**
 * A page of the UI rather than an API call or a missing asset: a GET outside /api whose last
 * segment has no file extension (`/app/shows`). Deep links then load the shell, while a missing
 * `/api/...` or `/app.js` stays a 404 instead of HTML the client would misread.
 */
export function isUiPageRequest(req: GatewayRequest): boolean {
  if (req.method !== "GET" && req.method !== "HEAD") return false;
  const path = pathOf(req);
  if (isApiPath(path) || operationalPaths.has(path)) return false;
  const lastSegment = path.slice(path.lastIndexOf("/") + 1);
  return !lastSegment.includes(".");
}

/** Answers with index.html; read per request so edits to web/ show without a restart. */
export async function sendUiShell(req: IncomingMessage, res: ServerResponse): Promise<void> {
  const html = await readFile(join(webRoot, "index.html"));
  res.writeHead(200, { "Content-Type": "text/html; charset=utf-8", "Cache-Control": "no-cache", "Content-Length": html.length });
  res.end(req.method === "HEAD" ? undefined : html);
}
