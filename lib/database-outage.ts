import moleculer, { type Context, type Middleware } from "moleculer";
import { errorMessage } from "./errors.ts";

const { MoleculerError } = moleculer.Errors;

/** SQLSTATEs of a server that is away: connection exceptions, shutdown/crash/start-up, no slots. */
const UNAVAILABLE_SQLSTATE = /^(08...|57P0[123]|53300)$/;
const UNAVAILABLE_NETWORK_CODES = new Set(["ECONNREFUSED", "ECONNRESET", "ETIMEDOUT", "EPIPE", "EHOSTUNREACH", "ENOTFOUND", "EAI_AGAIN"]);

/** True for errors that say Postgres cannot be reached right now, as pg and knex raise them. */
export function isDatabaseUnavailable(error: unknown): boolean {
  if (typeof error !== "object" || error === null) return false;
  const { code, name, message } = error as { code?: unknown; name?: unknown; message?: unknown };
  if (typeof code === "string" && (UNAVAILABLE_SQLSTATE.test(code) || UNAVAILABLE_NETWORK_CODES.has(code))) return true;
  // knex: no pooled connection within acquireConnectionTimeout
  if (name === "KnexTimeoutError") return true;
  return typeof message === "string" && message.startsWith("Connection terminated");
}

/** 503: the api-gateway hides the cause from the client, logs it, and adds Retry-After. */
export class DatabaseUnavailableError extends MoleculerError {
  constructor(cause: unknown) {
    super(`database unavailable: ${errorMessage(cause)}`, 503, "DATABASE_UNAVAILABLE");
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
