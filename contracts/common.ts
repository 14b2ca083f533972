import { randomUUID } from "node:crypto";
import { z } from "zod";

/**
 * Any 8-4-4-4-12 hex id, as Postgres' uuid type accepts: the original's clients send ids that are not
 * always RFC-versioned, and zod 4's z.uuid() would refuse those. Parsed ids are lower case, so one
 * ticket is one ticket in every table, message and report whatever casing the partner used.
 */
export const Uuid = z
  .string()
  .regex(/^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$/, "must be a UUID")
  .overwrite((id) => id.toLowerCase());

/** Years an RFC 3339 time can name and Postgres' timestamp and date types store alike. */
export const withinStorableYears = (instant: string) => {
  const year = new Date(instant).getUTCFullYear();
  return year >= 1 && year <= 9999;
};

/** Deliberately loose (one @, no spaces): the original accepted any string and its clients send `a@b.c`. */
export const Email = z
  .string()
  .max(255)
  .regex(/^[^\s@]+@[^\s@]+$/, "must be an email address");

/** RFC 3339 time in UTC (`Z`), any fractional precision. */
export const UtcTime = z.iso.datetime({ message: "must be an RFC 3339 UTC time" });

/** Money as the original carries it: amount a decimal string with at most 2 decimals (NUMERIC(10,2)). */
export const Money = z.object({
  amount: z.string().regex(/^\d{1,8}(\.\d{1,2})?$/, 'must be a decimal string like "50.30"'),
  currency: z.string().regex(/^[A-Z]{3}$/, "must be a 3-letter ISO currency code"),
});
export type Money = z.infer<typeof Money>;

/** Events and commands travel in separate streams (an event may reuse its command's header). */
export type MessageKind = "event" | "command";

export const MessageHeader = z.object({
  id: Uuid,
  published_at: UtcTime,
  idempotency_key: z.string().min(1),
});
export type MessageHeader = z.infer<typeof MessageHeader>;

export function newHeader(idempotencyKey: string = randomUUID()): MessageHeader {
  return { id: randomUUID(), published_at: new Date().toISOString(), idempotency_key: idempotencyKey };
}

type Shape = z.ZodRawShape;

export interface MessageContract<S extends Shape = Shape> {
  readonly name: string;
  readonly kind: MessageKind;
  readonly schema: z.ZodObject<{ header: typeof MessageHeader } & S>;
}

export type PayloadOf<C extends MessageContract> = z.infer<C["schema"]>;
/** What a publisher supplies: the body, and the header when it must not be a fresh one. */
export type BodyOf<C extends MessageContract> = Omit<PayloadOf<C>, "header">;

function define<S extends Shape>(kind: MessageKind, name: string, shape: S): MessageContract<S> {
  return Object.freeze({ name, kind, schema: z.object({ header: MessageHeader, ...shape }) });
}

export const defineEvent = <S extends Shape>(name: string, shape: S) => define("event", name, shape);
export const defineCommand = <S extends Shape>(name: string, shape: S) => define("command", name, shape);
