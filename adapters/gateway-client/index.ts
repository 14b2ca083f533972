// Typed HTTP clients of the external gateway (spec §7): receipts, payments, Dead Nation, files,
// spreadsheets. Idempotency keys travel only in body fields; no idempotency headers are sent.
// Every non-success answer becomes a GatewayError whose `permanent` flag tells the consumer whether
// retrying can help (4xx except 408/429) or not.
import { randomInt } from "node:crypto";
import { context, propagation, SpanKind, SpanStatusCode, trace } from "@opentelemetry/api";
import type { Money } from "../../contracts/index.ts";
import { errorMessage } from "../../lib/errors.ts";
import { currentCorrelationId } from "../../lib/observability/log-context.ts";

export interface CallContext {
  correlationId?: string;
  traceparent?: string;
}

export interface IssueReceiptRequest {
  ticket_id: string;
  price: Money;
  idempotency_key: string;
}
export interface IssuedReceipt {
  number: string;
  issued_at: string;
}
export interface VoidReceiptRequest {
  ticket_id: string;
  reason: string;
  idempotent_id: string;
}
export interface RefundRequest {
  payment_reference: string;
  reason: string;
  deduplication_id: string;
}
export interface DeadNationBookingRequest {
  booking_id: string;
  event_id: string;
  number_of_tickets: number;
  customer_address: string;
}

export interface GatewayClient {
  receipts: {
    issue(req: IssueReceiptRequest, cc?: CallContext): Promise<IssuedReceipt>;
    void(req: VoidReceiptRequest, cc?: CallContext): Promise<void>;
  };
  payments: {
    refund(req: RefundRequest, cc?: CallContext): Promise<void>;
  };
  deadNation: {
    book(req: DeadNationBookingRequest, cc?: CallContext): Promise<void>;
  };
  files: {
    /** 200/201 → "created"; 409 → "already_exists" (a success: the file id is deterministic). */
    put(fileId: string, content: string, cc?: CallContext): Promise<"created" | "already_exists">;
  };
  spreadsheets: {
    appendRow(sheet: string, columns: string[], cc?: CallContext): Promise<void>;
    rows(sheet: string, cc?: CallContext): Promise<string[][]>;
  };
}

declare module "../../lib/runtime.ts" {
  interface RuntimeExtensions {
    /** The partners, as every handler of the node calls them. */
    readonly gateway: GatewayClient;
  }
}

export type GatewayErrorKind = "http" | "timeout" | "network" | "bad_response";

export class GatewayError extends Error {
  override readonly name = "GatewayError";
  /** HTTP status, or undefined when no response arrived (timeout, connection error). */
  readonly status: number | undefined;
  readonly method: string;
  readonly path: string;
  readonly kind: GatewayErrorKind;
  /** True when retrying cannot help (4xx other than 408/429): dead-letter instead of retrying. */
  readonly permanent: boolean;
  /** First characters of the response body, for logs. */
  readonly bodyExcerpt: string;

  constructor(init: {
    kind: GatewayErrorKind;
    method: string;
    path: string;
    status?: number;
    body?: string;
    cause?: unknown;
    detail?: string;
  }) {
    const what = init.status !== undefined ? `status ${init.status}` : init.kind;
    const excerpt = (init.body ?? "").slice(0, 200);
    const detail = init.detail ?? excerpt;
    super(`gateway ${init.method} ${init.path} failed: ${what}${detail ? `: ${detail}` : ""}`, {
      cause: init.cause,
    });
    this.kind = init.kind;
    this.status = init.status;
    this.method = init.method;
    this.path = init.path;
    this.bodyExcerpt = excerpt;
    this.permanent = isPermanentStatus(init.status);
  }
}

export function isPermanentStatus(status: number | undefined): boolean {
  return status !== undefined && status >= 400 && status < 500 && status !== 408 && status !== 429;
}

const BASE57 = "23456789ABCDEFGHJKLMNPQRSTUVWXYZabcdefghijkmnopqrstuvwxyz";
/** `gen_` + 22 base57 characters, like the Go client's shortuuid fallback. */
export function generateCorrelationId(): string {
  let s = "gen_";
  for (let i = 0; i < 22; i++) s += BASE57[randomInt(BASE57.length)];
  return s;
}

interface Call {
  method: "GET" | "PUT" | "POST";
  path: string;
  ok: readonly number[];
  json?: unknown;
  text?: string;
}

const tracer = trace.getTracer("tickets-gateway-client");

export function createGatewayClient(opts: { baseUrl: string; timeoutMs?: number }): GatewayClient {
  const baseUrl = opts.baseUrl.replace(/\/+$/, "");
  const timeoutMs = opts.timeoutMs ?? 5000;

  /**
   * One gateway call as a client span: a child of the active span (a handler's), or of the
   * caller's traceparent outside any span. The gateway receives the client span's traceparent.
   */
  function send(call: Call, cc: CallContext = {}): Promise<{ status: number; body: string }> {
    const active = context.active();
    const parent = trace.getSpan(active) ? active : propagation.extract(active, { traceparent: cc.traceparent });
    const span = tracer.startSpan(
      `${call.method} ${call.path.split("/")[1]}`,
      {
        kind: SpanKind.CLIENT,
        attributes: { "http.request.method": call.method, "url.full": baseUrl + call.path },
      },
      parent,
    );
    return context.with(trace.setSpan(parent, span), async () => {
      try {
        const res = await exchange(call, cc);
        span.setAttribute("http.response.status_code", res.status);
        return res;
      } catch (err) {
        if (err instanceof GatewayError && err.status !== undefined) span.setAttribute("http.response.status_code", err.status);
        span.setStatus({ code: SpanStatusCode.ERROR, message: errorMessage(err) });
        throw err;
      } finally {
        span.end();
      }
    });
  }

  async function exchange(call: Call, cc: CallContext): Promise<{ status: number; body: string }> {
    const headers: Record<string, string> = {
      "Correlation-ID": cc.correlationId || currentCorrelationId() || generateCorrelationId(),
    };
    propagation.inject(context.active(), headers);
    // Without a registered tracer provider nothing is injected; the caller's traceparent still goes.
    if (!headers.traceparent && cc.traceparent) headers.traceparent = cc.traceparent;
    let body: string | undefined;
    if (call.json !== undefined) {
      headers["Content-Type"] = "application/json";
      body = JSON.stringify(call.json);
    } else if (call.text !== undefined) {
      headers["Content-Type"] = "text/plain";
      body = call.text;
    }

    const where = { method: call.method, path: call.path };
    let status: number;
    let text: string;
    try {
      const res = await fetch(baseUrl + call.path, {
        method: call.method,
        headers,
        body,
        signal: AbortSignal.timeout(timeoutMs),
      });
      status = res.status;
      text = await res.text();
    } catch (err) {
      const timedOut = err instanceof Error && (err.name === "TimeoutError" || err.name === "AbortError");
      throw new GatewayError({
        ...where,
        kind: timedOut ? "timeout" : "network",
        cause: err,
        detail: timedOut ? `no answer within ${timeoutMs} ms` : describeNetworkError(err),
      });
    }
    if (!call.ok.includes(status)) throw new GatewayError({ ...where, kind: "http", status, body: text });
    return { status, body: text };
  }

  function parseJson(call: Call, res: { status: number; body: string }): unknown {
    try {
      return JSON.parse(res.body);
    } catch (err) {
      throw badResponse(call, res, "response is not JSON", err);
    }
  }

  return {
    receipts: {
      async issue(req, cc) {
        const call: Call = {
          method: "PUT",
          path: "/receipts-api/receipts",
          ok: [200, 201],
          json: {
            ticket_id: req.ticket_id,
            price: { money_amount: req.price.amount, money_currency: req.price.currency },
            idempotency_key: req.idempotency_key,
          },
        };
        const res = await send(call, cc);
        const data = parseJson(call, res) as { number?: unknown; issued_at?: unknown } | null;
        if (typeof data?.number !== "string" || typeof data.issued_at !== "string") {
          throw badResponse(call, res, "receipt without number/issued_at");
        }
        return { number: data.number, issued_at: data.issued_at };
      },
      async void(req, cc) {
        await send(
          {
            method: "PUT",
            path: "/receipts-api/void-receipt",
            ok: [200],
            json: { ticket_id: req.ticket_id, reason: req.reason, idempotent_id: req.idempotent_id },
          },
          cc,
        );
      },
    },
    payments: {
      async refund(req, cc) {
        await send(
          {
            method: "PUT",
            path: "/payments-api/refunds",
            ok: [200, 201],
            json: {
              payment_reference: req.payment_reference,
              reason: req.reason,
              deduplication_id: req.deduplication_id,
            },
          },
          cc,
        );
      },
    },
    deadNation: {
      async book(req, cc) {
        await send(
          {
            method: "POST",
            path: "/dead-nation-api/ticket/booking",
            ok: [200],
            json: {
              booking_id: req.booking_id,
              event_id: req.event_id,
              number_of_tickets: req.number_of_tickets,
              customer_address: req.customer_address,
            },
          },
          cc,
        );
      },
    },
    files: {
      async put(fileId, content, cc) {
        const res = await send(
          {
            method: "PUT",
            path: `/files-api/files/${encodeURIComponent(fileId)}/content`,
            ok: [200, 201, 409],
            text: content,
          },
          cc,
        );
        return res.status === 409 ? "already_exists" : "created";
      },
    },
    spreadsheets: {
      async appendRow(sheet, columns, cc) {
        await send(
          {
            method: "POST",
            path: `/spreadsheets-api/sheets/${encodeURIComponent(sheet)}/rows`,
            ok: [200],
            json: { columns },
          },
          cc,
        );
      },
      async rows(sheet, cc) {
        const call: Call = {
          method: "GET",
          path: `/spreadsheets-api/sheets/${encodeURIComponent(sheet)}/rows`,
          ok: [200],
        };
        const res = await send(call, cc);
        const data = parseJson(call, res) as { rows?: unknown } | null;
        const rows = data?.rows;
        if (!Array.isArray(rows) || !rows.every((r) => Array.isArray(r) && r.every((c) => typeof c === "string"))) {
          throw badResponse(call, res, "rows is not a list of string lists");
        }
        return rows as string[][];
      },
    },
  };
}

function badResponse(call: Call, res: { status: number; body: string }, detail: string, cause?: unknown): GatewayError {
  // A 2xx with an unreadable body: not the caller's fault, so not permanent (retry may help).
  return new GatewayError({
    kind: "bad_response",
    method: call.method,
    path: call.path,
    status: res.status,
    body: res.body,
    detail: `${detail}: ${res.body.slice(0, 200)}`,
    cause,
  });
}

function describeNetworkError(err: unknown): string {
  const cause = (err as { cause?: { code?: string; message?: string } })?.cause;
  return cause?.code ?? cause?.message ?? errorMessage(err);
}
