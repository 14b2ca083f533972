import { createHmac, timingSafeEqual } from "node:crypto";

/** The header Dead Nation signs its callbacks with: `t=<unix seconds>,v1=<hex HMAC-SHA256 of "t.body">`. */
export const SIGNATURE_HEADER = "Tickets-Signature";
/** How far a signature's timestamp may be from our clock, either way. */
export const SIGNATURE_TOLERANCE_S = 5 * 60;

const hmac = (secret: string, timestamp: number, body: string | Buffer) =>
  createHmac("sha256", secret).update(`${timestamp}.`).update(body).digest("hex");

export function signatureHeaderValue(secret: string, body: string | Buffer, nowS = Math.floor(Date.now() / 1000)): string {
  return `t=${nowS},v1=${hmac(secret, nowS, body)}`;
}

/** The headers that sign one callback body; none without a secret (development mode accepts unsigned callbacks). */
export function partnerSignatureHeaders(secret: string | undefined, body: string): Record<string, string> {
  return secret ? { [SIGNATURE_HEADER]: signatureHeaderValue(secret, body) } : {};
}

export type SignatureCheck = { valid: true; signature: string } | { valid: false; reason: string };

/** Checks a `Tickets-Signature` against the raw body; any v1 entry may match (a secret being rotated). */
export function checkPartnerSignature(
  header: string | undefined,
  rawBody: Buffer | undefined,
  secret: string,
  nowS = Math.floor(Date.now() / 1000),
): SignatureCheck {
  if (!header) return { valid: false, reason: `missing ${SIGNATURE_HEADER}` };
  const parts = header.split(",").map((part) => part.trim().split("="));
  const timestamp = Number(parts.find(([key]) => key === "t")?.[1]);
  const candidates = parts.filter(([key, value]) => key === "v1" && /^[0-9a-f]{64}$/i.test(value ?? "")).map(([, value]) => value!);
  if (!Number.isInteger(timestamp) || candidates.length === 0) return { valid: false, reason: `malformed ${SIGNATURE_HEADER}` };
  if (Math.abs(nowS - timestamp) > SIGNATURE_TOLERANCE_S) return { valid: false, reason: "signature timestamp too far from now" };
  const expected = Buffer.from(hmac(secret, timestamp, rawBody ?? ""), "hex");
  const match = candidates.find((candidate) => timingSafeEqual(Buffer.from(candidate.toLowerCase(), "hex"), expected));
  return match ? { valid: true, signature: match.toLowerCase() } : { valid: false, reason: "signature does not match" };
}
