import { createHash, randomBytes, timingSafeEqual } from "node:crypto";

/** A fresh high-entropy secret (session id, API token, CSRF token), URL-safe. */
export const newSecret = (prefix = ""): string => `${prefix}${randomBytes(32).toString("base64url")}`;

/** What is stored of a session id or API token: random 256-bit secrets need no slow hash. */
export const digestOf = (secret: string): string => createHash("sha256").update(secret).digest("hex");

/** Constant-time equality of two strings of any length. */
export function sameSecret(a: string, b: string): boolean {
  return timingSafeEqual(createHash("sha256").update(a).digest(), createHash("sha256").update(b).digest());
}
