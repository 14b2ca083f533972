import moleculer, { type Context, type Middleware } from "moleculer";
import { errorMessage } from "../lib/errors.ts";

const { MoleculerError } = moleculer.Errors;

/** SQLSTATEs of a server that is away: connection exceptions, shutdown/crash/start-up, no slots. */
const UNAVAILABLE_SQLSTATE = /^(08...|57P0[123]|53300)$/;
const UNAVAILABLE_NETWORK_CODES = new Set([
  "ECONNREFUSED",
  "ECONNRESET",
  "ETIMEDOUT",
  "EPIPE",
  "EHOSTUNREACH",
  "ENETUNREACH",
  "ENOTFOUND",
  "EAI_AGAIN",
]);

/**
 * What pg says, without a code, about a connection that died under it: mid-statement ("Connection
 * terminated unexpectedly"), on the next query of a broken client ("… is not queryable" — the shape
 * a transaction's ROLLBACK takes after its connection died, which knex reports instead of the first
 * error), or while connecting ("timeout exceeded when trying to connect").
 */
const UNAVAILABLE_MESSAGE = /Connection terminated|is not queryable|timeout exceeded when trying to connect|Query read timeout/;

/** The error and everything it wraps: `cause` chains and an AggregateError's members (a refused dual-stack connect). */
function* causesOf(error: unknown, depth = 0): Generator<object> {
  if (typeof error !== "object" || error === null || depth > 5) return;
  yield error;
  const { cause, errors } = error as { cause?: unknown; errors?: unknown };
  yield* causesOf(cause, depth + 1);
  if (Array.isArray(errors)) for (const member of errors) yield* causesOf(member, depth + 1);
}

function saysUnavailable(error: object): boolean {
  const { code, name, message } = error as { code?: unknown; name?: unknown; message?: unknown };
  if (typeof code === "string" && (UNAVAILABLE_SQLSTATE.test(code) || UNAVAILABLE_NETWORK_CODES.has(code))) return true;
  // knex: no pooled connection within acquireConnectionTimeout
  if (name === "KnexTimeoutError") return true;
  return typeof message === "string" && UNAVAILABLE_MESSAGE.test(message);
}

/** True for errors that say Postgres cannot be reached right now, as pg and knex raise them, however wrapped. */
export function isDatabaseUnavailable(error: unknown): boolean {
  for (const candidate of causesOf(error)) if (saysUnavailable(candidate)) return true;
  return false;
}

/** 503: the api-gateway hides the cause from the client, logs it, and adds Retry-After. */
export class DatabaseUnavailableError extends MoleculerError {
  constructor(cause: unknown) {
    super(`database unavailable: ${errorMessage(cause)}`, 503, "DATABASE_UNAVAILABLE");
    this.cause = cause;
  }
}

/**
 * A Postgres restarting or out of reach is the server's trouble, not a bug: actions that meet it
 * answer 503 (retry later) instead of 500. Nothing was committed, so a retry with the same
 * Idempotency-Key is safe.
 */
export const DatabaseOutageMiddleware: Middleware = {
  name: "DatabaseOutage",
  localAction(next: (ctx: Context) => Promise<unknown>) {
    return (ctx: Context) =>
      next(ctx).catch((error: unknown) => {
        throw isDatabaseUnavailable(error) ? new DatabaseUnavailableError(error) : error;
      });
  },
};
