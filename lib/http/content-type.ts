import type { IncomingMessage } from "node:http";

/** `application/json` or any `+json` type (`application/merge-patch+json`), parameters ignored. */
export function isJsonMediaType(contentType: string | undefined): boolean {
  const type = (contentType ?? "").split(";")[0]!.trim().toLowerCase();
  return type === "application/json" || /^[a-z0-9.+-]+\/[a-z0-9.+-]+\+json$/.test(type);
}

/** A request carries a body when it announces bytes (Content-Length > 0) or streams them (Transfer-Encoding). */
export function carriesBody(req: IncomingMessage): boolean {
  if (req.headers["transfer-encoding"] !== undefined) return true;
  const length = Number(req.headers["content-length"] ?? 0);
  return Number.isNaN(length) || length > 0;
}
