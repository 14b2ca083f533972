// One partner call: a client span, the Correlation-ID and traceparent headers, a timeout, the
// statuses that count as success, and the answer read through its contract.
import { context, propagation, SpanKind, trace } from "@opentelemetry/api";
import { type Dispatcher, request } from "undici";
import type { z } from "zod";
import { newCorrelationId } from "../../lib/observability/correlation-id.ts";
import { currentCorrelationId } from "../../lib/observability/log-context.ts";
import { contextFrom, inSpan } from "../../lib/observability/tracing.ts";
import { type Breaker, type BreakerOptions, createBreaker, isOutage, partnerOf } from "./breaker.ts";
import type { Endpoint } from "./classification.ts";
import { describeNetworkError, GatewayError } from "./errors.ts";
import { withTimeoutSignal } from "../../lib/timeout.ts";

export interface CallContext {
  correlationId?: string;
  traceparent?: string;
  /** An operator's replay of a dead letter: sent even while the partner's circuit is open (their decision). */
  replayed?: boolean;
}

export interface Call {
  endpoint: Endpoint;
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

export interface TransportOptions {
  baseUrl: string;
  timeoutMs?: number;
  breaker?: BreakerOptions;
}

const DEFAULT_BREAKER: BreakerOptions = { failures: 5, cooldownMs: 1000, maxCooldownMs: 30_000 };

export function createTransport(opts: TransportOptions): Transport {
  const baseUrl = opts.baseUrl.replace(/\/+$/, "");
  const timeoutMs = opts.timeoutMs ?? 5000;
  const breakers = new Map<string, Breaker>();
  const breakerOf = (path: string) => {
    const partner = partnerOf(path);
    if (!breakers.has(partner)) breakers.set(partner, createBreaker(opts.breaker ?? DEFAULT_BREAKER));
    return breakers.get(partner)!;
  };
  const guarded = (call: Call, cc: CallContext) => guard(breakerOf(call.path), call, cc, () => exchange(baseUrl, timeoutMs, call, cc));
  const traced = (call: Call, cc: CallContext = {}) => inClientSpan(baseUrl + call.path, call, cc, () => guarded(call, cc));
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

/** The call through its partner's breaker: refused unsent while the circuit is open. */
async function guard(breaker: Breaker, call: Call, cc: CallContext, work: () => Promise<Answer>): Promise<Answer> {
  if (!cc.replayed && !breaker.admit()) {
    throw new GatewayError({ ...where(call), kind: "circuit_open", detail: `${partnerOf(call.path)} is failing; not called` });
  }
  try {
    const answer = await work();
    breaker.succeeded();
    return answer;
  } catch (err) {
    if (err instanceof GatewayError && !isOutage(err.status)) breaker.succeeded();
    else breaker.failed();
    throw err;
  }
}

const where = (call: Call) => ({ endpoint: call.endpoint, method: call.method, path: call.path });

async function exchange(baseUrl: string, timeoutMs: number, call: Call, cc: CallContext): Promise<Answer> {
  let answer: Answer;
  try {
    answer = await withTimeoutSignal(timeoutMs, async (signal) => {
      const res = await request(baseUrl + call.path, { ...requestOptions(call, cc), signal });
      return { status: res.statusCode, body: await res.body.text() };
    });
  } catch (err) {
    const timedOut = err instanceof Error && (err.name === "TimeoutError" || err.name === "AbortError");
    const detail = timedOut ? `no answer within ${timeoutMs} ms` : describeNetworkError(err);
    throw new GatewayError({ ...where(call), kind: timedOut ? "timeout" : "network", cause: err, detail });
  }
  if (!call.ok.includes(answer.status)) throw new GatewayError({ ...where(call), kind: "http", status: answer.status, body: answer.body });
  return answer;
}

/**
 * Idempotency keys travel only in body fields: no idempotency header is sent. Sent with undici's
 * `request` rather than `fetch`, whose web streams cost a call about 2.5 times the CPU.
 */
function requestOptions(call: Call, cc: CallContext): Pick<Dispatcher.RequestOptions, "method" | "headers" | "body"> {
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
  const { status, body } = answer;
  return new GatewayError({ ...where(call), kind: "bad_response", status, body, detail: `${detail}: ${body.slice(0, 200)}`, cause });
}
