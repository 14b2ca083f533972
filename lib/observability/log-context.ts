import { AsyncLocalStorage } from "node:async_hooks";
import { trace } from "@opentelemetry/api";

/** What every log line written while handling one request or message should carry. */
export interface LogContext {
  correlationId?: string;
}

const store = new AsyncLocalStorage<LogContext>();

/** Runs `fn` with `fields` attached to every log line it writes, however deep the call goes. */
export function withLogContext<T>(fields: LogContext, fn: () => T): T {
  return store.run({ ...store.getStore(), ...definedOnly(fields) }, fn);
}

export function currentCorrelationId(): string | undefined {
  return store.getStore()?.correlationId;
}

/**
 * pino `mixin`: adds `correlation_id` and `trace_id` of the work in progress to each line, so a
 * handler's logs need no logger of their own to be found by correlation id or trace id.
 */
export function logContextFields(): Record<string, string> {
  const fields: Record<string, string> = {};
  const correlationId = currentCorrelationId();
  if (correlationId) fields.correlation_id = correlationId;
  const spanContext = trace.getActiveSpan()?.spanContext();
  if (spanContext && trace.isSpanContextValid(spanContext)) fields.trace_id = spanContext.traceId;
  return fields;
}

function definedOnly(fields: LogContext): LogContext {
  return Object.fromEntries(Object.entries(fields).filter(([, value]) => value !== undefined && value !== ""));
}
