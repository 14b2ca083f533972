import type { IncomingMessage } from "node:http";
import { requestHeader } from "../request-context.ts";

export const SESSION_COOKIE = "tickets_session";
export const CSRF_HEADER = "X-CSRF-Token";

/** The bearer token of `Authorization`, `null` when the header is there but not a bearer token. */
export function bearerToken(req: IncomingMessage): string | null | undefined {
  const header = requestHeader(req, "Authorization");
  if (header === undefined) return undefined;
  return /^Bearer\s+(\S+)\s*$/i.exec(header)?.[1] ?? null;
}

export function sessionCookie(req: IncomingMessage): string | undefined {
  for (const part of (req.headers.cookie ?? "").split(";")) {
    const [name, ...value] = part.trim().split("=");
    if (name === SESSION_COOKIE) return value.join("=") || undefined;
  }
  return undefined;
}

/** Secure only behind TLS (directly or at a proxy that says so), or a plain-HTTP developer machine could never sign in. */
function overTls(req: IncomingMessage): boolean {
  return Boolean((req.socket as { encrypted?: boolean }).encrypted) || requestHeader(req, "X-Forwarded-Proto") === "https";
}

export function sessionCookieHeader(req: IncomingMessage, value: string, maxAgeS: number): string {
  const attributes = [`${SESSION_COOKIE}=${value}`, "Path=/", "HttpOnly", "SameSite=Strict", `Max-Age=${maxAgeS}`];
  if (overTls(req)) attributes.push("Secure");
  return attributes.join("; ");
}

/** Who sent a request, for rate limits: the peer address (a proxy in front should limit by its own client). */
export const clientOf = (req: IncomingMessage): string => req.socket.remoteAddress ?? "unknown";

export const isStateChanging = (method: string | undefined) => !["GET", "HEAD", "OPTIONS"].includes((method ?? "GET").toUpperCase());
