// One partner call: a client span, the Correlation-ID and traceparent headers, a timeout, the
// statuses that count as success, and the answer read through its contract.
import { context, propagation, SpanKind, trace } from "@opentelemetry/api";
import type { z } from "zod";
import { newCorrelationId } from "../../lib/observability/correlation-id.ts";
import { currentCorrelationId } from "../../lib/observability/log-context.ts";
import { contextFrom, inSpan } from "../../lib/observability/tracing.ts";
import { describeNetworkError, GatewayError } from "./errors.ts";

export interface CallContext {
  correlationId?: string;
  traceparent?: string;
}

export interface Call {
  method: "GET" | "PUT" | "POST";
  path: string;
  /** The statuses that are success; any other is a GatewayError. */
  ok: readonly number[];
  json?: unknown;
  text?: string;
}

interface Answer {
  status: number;
  body: string;
}

export interface Transport {
  /** Makes the call; resolves with its (successful) status. */
  send(call: Call, cc?: CallContext): Promise<number>;
  /** Makes the call; resolves with its answer as the partner's contract reads it. */
  read<S extends z.ZodType>(call: Call, contract: S, cc?: CallContext): Promise<z.infer<S>>;
}

export function createTransport(opts: { baseUrl: string; timeoutMs?: number }): Transport {
  const baseUrl = opts.baseUrl.replace(/\/+$/, "");
  const timeoutMs = opts.timeoutMs ?? 5000;
  const traced = (call: Call, cc: CallContext = {}) =>
    inClientSpan(baseUrl + call.path, call, cc, () => exchange(baseUrl, timeoutMs, call, cc));
  return {
    send: async (call, cc) => (await traced(call, cc)).status,
    read: async (call, contract, cc) => parseAnswer(call, await traced(call, cc), contract),
  };
}

/**
 * The call as a client span: a child of the active span (a handler's), or of the caller's
 * traceparent outside any span. The gateway receives the client span's traceparent.
 */
function inClientSpan(url: string, call: Call, cc: CallContext, work: () => Promise<Answer>): Promise<Answer> {
  const active = context.active();
  const parent = trace.getSpan(active) ? active : contextFrom({ traceparent: cc.traceparent }, active);
  const attributes = { "http.request.method": call.method, "url.full": url };
  return inSpan(`${call.method} ${call.path.split("/")[1]}`, { kind: SpanKind.CLIENT, attributes, parent }, async (span) => {
    try {
      const answer = await work();
      span.setAttribute("http.response.status_code", answer.status);
      return answer;
    } catch (err) {
      if (err instanceof GatewayError && err.status !== undefined) span.setAttribute("http.response.status_code", err.status);
      throw err;
    }
  });
}

async function exchange(baseUrl: string, timeoutMs: number, call: Call, cc: CallContext): Promise<Answer> {
  const where = { method: call.method, path: call.path };
  let answer: Answer;
  try {
    const res = await fetch(baseUrl + call.path, { ...request(call, cc), signal: AbortSignal.timeout(timeoutMs) });
    answer = { status: res.status, body: await res.text() };
  } catch (err) {
    const timedOut = err instanceof Error && (err.name === "TimeoutError" || err.name === "AbortError");
    const detail = timedOut ? `no answer within ${timeoutMs} ms` : describeNetworkError(err);
    throw new GatewayError({ ...where, kind: timedOut ? "timeout" : "network", cause: err, detail });
  }
  if (!call.ok.includes(answer.status)) throw new GatewayError({ ...where, kind: "http", status: answer.status, body: answer.body });
  return answer;
}

/** Idempotency keys travel only in body fields: no idempotency header is sent. */
function request(call: Call, cc: CallContext): RequestInit {
  const headers: Record<string, string> = {
    "Correlation-ID": cc.correlationId || currentCorrelationId() || newCorrelationId(),
  };
  propagation.inject(context.active(), headers);
  // Without a registered tracer provider nothing is injected; the caller's traceparent still goes.
  if (!headers.traceparent && cc.traceparent) headers.traceparent = cc.traceparent;
  if (call.json !== undefined) {
    headers["Content-Type"] = "application/json";
    return { method: call.method, headers, body: JSON.stringify(call.json) };
  }
  if (call.text !== undefined) headers["Content-Type"] = "text/plain";
  return { method: call.method, headers, body: call.text };
}

/** A 2xx the contract cannot read is not the caller's fault, so not permanent: a retry may help. */
function parseAnswer<S extends z.ZodType>(call: Call, answer: Answer, contract: S): z.infer<S> {
  let json: unknown;
  try {
    json = JSON.parse(answer.body);
  } catch (err) {
    throw badAnswer(call, answer, "response is not JSON", err);
  }
  const parsed = contract.safeParse(json);
  if (parsed.success) return parsed.data;
  const problems = parsed.error.issues.map((issue) => `${issue.path.join(".") || "(body)"}: ${issue.message}`).join("; ");
  throw badAnswer(call, answer, `response does not match the partner's contract (${problems})`, parsed.error);
}

function badAnswer(call: Call, answer: Answer, detail: string, cause: unknown): GatewayError {
  const { method, path } = call;
  const { status, body } = answer;
  return new GatewayError({ kind: "bad_response", method, path, status, body, detail: `${detail}: ${body.slice(0, 200)}`, cause });
}
