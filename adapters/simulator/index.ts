// A real HTTP server that behaves like the external gateway (spec §7): receipts and payments
// deduplicate on their body keys, files answer 409 for an existing id, spreadsheets and Dead Nation
// keep every call (no dedupe, like the real partners). Dead Nation confirms bookings by calling the
// app back at POST {callbackBaseUrl}/api/tickets-status. Everything is inspectable under
// /_simulator and faults can be injected from code or over HTTP.
import { createServer, type IncomingHttpHeaders, type IncomingMessage, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";
import { randomUUID } from "node:crypto";
import { errorMessage } from "../../lib/errors.ts";
import { partnerSignatureHeaders } from "../../lib/http/auth/partner-signature.ts";

export interface SimulatorLogger {
  info(obj: object, msg?: string): void;
}

export interface GatewaySimulatorOptions {
  port?: number; // 0 = random
  host?: string; // default 127.0.0.1
  latencyMs?: number;
  callbackBaseUrl?: string;
  autoConfirmDeadNation?: boolean; // default true when callbackBaseUrl is given
  ticketPrice?: { amount: string; currency: string }; // default 50.00 EUR
  callbackRetryDelaysMs?: number[]; // waits between callback attempts; default [100, 300, 1000, 2000]
  signingSecret?: string; // PARTNER_SIGNING_SECRET: callbacks carry Tickets-Signature
  logger?: SimulatorLogger;
}

export interface StoredReceipt {
  number: string;
  issued_at: string;
  ticket_id: string;
  price: { money_amount: string; money_currency: string };
  idempotency_key: string;
  voided?: boolean;
  void_reason?: string;
}
export interface StoredVoid {
  ticket_id: string;
  reason: string;
  idempotent_id: string;
  voided_at: string;
}
export interface StoredRefund {
  payment_reference: string;
  reason: string;
  deduplication_id: string;
  refunded_at: string;
}
export interface StoredBooking {
  booking_id: string;
  event_id: string;
  number_of_tickets: number;
  customer_address: string;
  received_at: string;
}
export interface RecordedCall {
  method: string;
  path: string;
  body: unknown; // parsed JSON, raw text, or undefined when empty
  headers: IncomingHttpHeaders;
  status: number;
  at: string;
}
export interface CallbackAttempt {
  booking_id: string;
  url: string;
  attempt: number;
  status?: number; // undefined on connection errors
  error?: string;
  ok: boolean;
}

export interface GatewaySimulatorState {
  receipts: Map<string, StoredReceipt>; // by idempotency_key
  voids: Map<string, StoredVoid>; // by idempotent_id
  refunds: Map<string, StoredRefund>; // by deduplication_id
  files: Map<string, string>; // file id -> content
  sheets: Map<string, string[][]>; // sheet -> rows
  deadNationBookings: StoredBooking[]; // every call, duplicates included
  callbacks: CallbackAttempt[]; // every Dead Nation callback attempt
  calls: RecordedCall[]; // every gateway API request (not /_simulator)
}

export interface FaultMatch {
  method?: string;
  path: string | RegExp;
}
export interface FaultOptions {
  /** Apply the effect first, then answer with the fault status (a "lost response"). */
  afterEffect?: boolean;
}

export interface GatewaySimulator {
  url: string;
  state: GatewaySimulatorState;
  failNext(match: FaultMatch, times: number, status?: number, options?: FaultOptions): void;
  setLatency(ms: number): void;
  reset(): void;
  /** Resolves when every Dead Nation callback started so far has finished (success or give-up). */
  settled(): Promise<void>;
  close(): Promise<void>;
}

interface Fault {
  method?: string;
  path: string | RegExp;
  remaining: number;
  status: number;
  afterEffect: boolean;
}

interface Reply {
  status: number;
  body?: unknown; // JSON-serialised unless `text` is set
  text?: string;
}

class BadRequest extends Error {}

const MAX_BODY = 1024 * 1024;

export async function startGatewaySimulator(opts: GatewaySimulatorOptions = {}): Promise<GatewaySimulator> {
  const log = opts.logger ?? { info() {} };
  const host = opts.host ?? "127.0.0.1";
  const ticketPrice = opts.ticketPrice ?? { amount: "50.00", currency: "EUR" };
  const callbackBaseUrl = opts.callbackBaseUrl?.replace(/\/+$/, "");
  const autoConfirm = opts.autoConfirmDeadNation ?? callbackBaseUrl !== undefined;
  const retryDelays = opts.callbackRetryDelaysMs ?? [100, 300, 1000, 2000];

  const state: GatewaySimulatorState = {
    receipts: new Map(),
    voids: new Map(),
    refunds: new Map(),
    files: new Map(),
    sheets: new Map(),
    deadNationBookings: [],
    callbacks: [],
    calls: [],
  };
  let receiptSeq = 0;
  let latencyMs = opts.latencyMs ?? 0;
  let faults: Fault[] = [];
  const closing = new AbortController();
  const pendingCallbacks = new Set<Promise<void>>();

  // ---- gateway API -------------------------------------------------------------------------

  // `raw` is the request body as text; JSON routes parse it themselves (files take it as is).
  type Handler = (m: RegExpMatchArray, raw: string, req: IncomingMessage) => Reply;
  const routes: { method: string; pattern: RegExp; handle: Handler }[] = [
    {
      method: "PUT",
      pattern: /^\/receipts-api\/receipts$/,
      handle: (_m, raw) => {
        const b = requireObject(parseJson(raw));
        const price = requireObject(b.price, "price");
        const req = {
          ticket_id: requireString(b, "ticket_id"),
          money_amount: requireString(price, "money_amount", "price."),
          money_currency: requireString(price, "money_currency", "price."),
          idempotency_key: requireString(b, "idempotency_key"),
        };
        const existing = state.receipts.get(req.idempotency_key);
        if (existing) return { status: 200, body: existing };
        const receipt: StoredReceipt = {
          number: `RCPT-${String(++receiptSeq).padStart(6, "0")}`,
          issued_at: new Date().toISOString(),
          ticket_id: req.ticket_id,
          price: { money_amount: req.money_amount, money_currency: req.money_currency },
          idempotency_key: req.idempotency_key,
        };
        state.receipts.set(receipt.idempotency_key, receipt);
        return { status: 201, body: receipt };
      },
    },
    {
      method: "PUT",
      pattern: /^\/receipts-api\/void-receipt$/,
      handle: (_m, raw) => {
        const b = requireObject(parseJson(raw));
        const v: StoredVoid = {
          ticket_id: requireString(b, "ticket_id"),
          reason: requireString(b, "reason"),
          idempotent_id: requireString(b, "idempotent_id"),
          voided_at: new Date().toISOString(),
        };
        if (!state.voids.has(v.idempotent_id)) {
          state.voids.set(v.idempotent_id, v);
          for (const r of state.receipts.values()) {
            if (r.ticket_id === v.ticket_id) Object.assign(r, { voided: true, void_reason: v.reason });
          }
        }
        return { status: 200, body: {} };
      },
    },
    {
      method: "PUT",
      pattern: /^\/payments-api\/refunds$/,
      handle: (_m, raw) => {
        const b = requireObject(parseJson(raw));
        const r: StoredRefund = {
          payment_reference: requireString(b, "payment_reference"),
          reason: requireString(b, "reason"),
          deduplication_id: requireString(b, "deduplication_id"),
          refunded_at: new Date().toISOString(),
        };
        const existing = state.refunds.get(r.deduplication_id);
        if (existing) return { status: 200, body: existing };
        state.refunds.set(r.deduplication_id, r);
        return { status: 201, body: r };
      },
    },
    {
      method: "POST",
      pattern: /^\/dead-nation-api\/ticket\/booking$/,
      handle: (_m, raw, req) => {
        const b = requireObject(parseJson(raw));
        const n = b.number_of_tickets;
        if (typeof n !== "number" || !Number.isInteger(n) || n < 1) {
          throw new BadRequest("number_of_tickets must be a positive integer");
        }
        const booking: StoredBooking = {
          booking_id: requireString(b, "booking_id"),
          event_id: requireString(b, "event_id"),
          number_of_tickets: n,
          customer_address: requireString(b, "customer_address"),
          received_at: new Date().toISOString(),
        };
        state.deadNationBookings.push(booking);
        if (autoConfirm && callbackBaseUrl) {
          const correlationId = headerValue(req.headers["correlation-id"]);
          // Answer first, then call back (setImmediate lets the response go out before the callback).
          track(new Promise((r) => setImmediate(r)).then(() => confirmBooking(booking, correlationId)));
        }
        return { status: 200, body: { booking_id: booking.booking_id } };
      },
    },
    {
      method: "PUT",
      pattern: /^\/files-api\/files\/([^/]+)\/content$/,
      handle: (m, raw) => {
        const id = decodeURIComponent(m[1]!);
        if (state.files.has(id)) return { status: 409, body: { error: `file ${id} already exists` } };
        state.files.set(id, raw);
        return { status: 201, body: { id } };
      },
    },
    {
      method: "GET",
      pattern: /^\/files-api\/files\/([^/]+)\/content$/,
      handle: (m) => {
        const id = decodeURIComponent(m[1]!);
        const content = state.files.get(id);
        if (content === undefined) return { status: 404, body: { error: `file ${id} not found` } };
        return { status: 200, text: content };
      },
    },
    {
      method: "POST",
      pattern: /^\/spreadsheets-api\/sheets\/([^/]+)\/rows$/,
      handle: (m, raw) => {
        const sheet = decodeURIComponent(m[1]!);
        const columns = requireObject(parseJson(raw)).columns;
        if (!Array.isArray(columns) || !columns.every((c) => typeof c === "string")) {
          throw new BadRequest("columns must be a list of strings");
        }
        const rows = state.sheets.get(sheet) ?? [];
        rows.push([...columns]);
        state.sheets.set(sheet, rows);
        return { status: 200, body: {} };
      },
    },
    {
      method: "GET",
      pattern: /^\/spreadsheets-api\/sheets\/([^/]+)\/rows$/,
      handle: (m) => ({ status: 200, body: { rows: state.sheets.get(decodeURIComponent(m[1]!)) ?? [] } }),
    },
  ];

  // ---- read-back and control endpoints (/_simulator) ------------------------------------------

  function summary() {
    return {
      url,
      latency_ms: latencyMs,
      faults: faults.map((f) => ({ ...f, path: String(f.path) })),
      counts: {
        receipts: state.receipts.size,
        voids: state.voids.size,
        refunds: state.refunds.size,
        files: state.files.size,
        sheet_rows: Object.fromEntries([...state.sheets].map(([k, rows]) => [k, rows.length])),
        dead_nation_bookings: state.deadNationBookings.length,
        callbacks: state.callbacks.length,
        calls: state.calls.length,
      },
      receipts: [...state.receipts.values()],
      voids: [...state.voids.values()],
      refunds: [...state.refunds.values()],
      files: [...state.files.keys()],
      sheets: Object.fromEntries(state.sheets),
      dead_nation_bookings: state.deadNationBookings,
      callbacks: state.callbacks,
    };
  }

  function control(method: string, path: string, rawBody: string): Reply {
    if (method === "GET") {
      switch (path) {
        case "/_simulator":
          return { status: 200, body: summary() };
        case "/_simulator/receipts":
          return { status: 200, body: { receipts: [...state.receipts.values()] } };
        case "/_simulator/voids":
          return { status: 200, body: { voids: [...state.voids.values()] } };
        case "/_simulator/refunds":
          return { status: 200, body: { refunds: [...state.refunds.values()] } };
        case "/_simulator/files":
          return { status: 200, body: { files: [...state.files].map(([id, content]) => ({ id, content })) } };
        case "/_simulator/sheets":
          return { status: 200, body: { sheets: Object.fromEntries(state.sheets) } };
        case "/_simulator/dead-nation/bookings":
          return { status: 200, body: { bookings: state.deadNationBookings, callbacks: state.callbacks } };
        case "/_simulator/calls":
          return { status: 200, body: { calls: state.calls } };
      }
    }
    if (method === "POST" && path === "/_simulator/reset") {
      sim.reset();
      return { status: 200, body: {} };
    }
    if (method === "POST" && path === "/_simulator/faults") {
      const b = requireObject(parseJson(rawBody));
      const times = b.times ?? 1;
      const status = b.status ?? 500;
      if (typeof times !== "number" || !Number.isInteger(times) || times < 1) throw new BadRequest("times must be a positive integer");
      if (typeof status !== "number" || !Number.isInteger(status) || status < 100 || status > 599)
        throw new BadRequest("status must be an HTTP status");
      if (b.method !== undefined && typeof b.method !== "string") throw new BadRequest("method must be a string");
      const pathText = requireString(b, "path");
      const path = b.regex === true ? new RegExp(pathText) : pathText;
      sim.failNext({ method: b.method as string | undefined, path }, times, status, { afterEffect: b.after_effect === true });
      return { status: 201, body: { faults: faults.map((f) => ({ ...f, path: String(f.path) })) } };
    }
    if (method === "POST" && path === "/_simulator/latency") {
      const ms = requireObject(parseJson(rawBody)).ms;
      if (typeof ms !== "number" || ms < 0) throw new BadRequest("ms must be a non-negative number");
      sim.setLatency(ms);
      return { status: 200, body: { latency_ms: ms } };
    }
    return { status: 404, body: { error: `no simulator endpoint ${method} ${path}` } };
  }

  // ---- request plumbing ------------------------------------------------------------------------

  function takeFault(method: string, path: string): Fault | undefined {
    const f = faults.find(
      (f) => (!f.method || f.method.toUpperCase() === method) && (typeof f.path === "string" ? f.path === path : f.path.test(path)),
    );
    if (!f) return undefined;
    if (--f.remaining <= 0) faults = faults.filter((x) => x !== f);
    return f;
  }

  function dispatch(req: IncomingMessage, method: string, path: string, rawBody: string): Reply {
    const route = routes.find((r) => r.method === method && r.pattern.test(path));
    if (!route) return { status: 404, body: { error: `no route ${method} ${path}` } };
    const fault = takeFault(method, path);
    if (fault && !fault.afterEffect) return injectedReply(fault);
    const reply = route.handle(path.match(route.pattern)!, rawBody, req);
    return fault ? injectedReply(fault) : reply;
  }

  async function onRequest(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const method = (req.method ?? "GET").toUpperCase();
    const path = new URL(req.url ?? "/", "http://sim").pathname;
    const isControl = path === "/_simulator" || path.startsWith("/_simulator/");
    let rawBody = "";
    let reply: Reply;
    try {
      rawBody = await readBody(req);
      if (!isControl && latencyMs > 0) await sleep(latencyMs, closing.signal);
      reply = isControl ? control(method, path, rawBody) : dispatch(req, method, path, rawBody);
    } catch (err) {
      if (err instanceof BadRequest) reply = { status: 400, body: { error: err.message } };
      else if (err instanceof BodyTooLarge) reply = { status: 413, body: { error: "body too large" } };
      else if (closing.signal.aborted) reply = { status: 503, body: { error: "simulator closing" } };
      else reply = { status: 500, body: { error: String(err) } };
    }
    if (!isControl) {
      const isText = (req.headers["content-type"] ?? "").startsWith("text/plain");
      state.calls.push({
        method,
        path,
        body: isText || rawBody === "" ? rawBody || undefined : tryParse(rawBody),
        headers: req.headers,
        status: reply.status,
        at: new Date().toISOString(),
      });
    }
    if (res.destroyed) return; // client gave up (timeout); the effect, if any, stays — like a real server
    if (reply.text !== undefined) {
      res.writeHead(reply.status, { "Content-Type": "text/plain; charset=utf-8" }).end(reply.text);
    } else {
      res.writeHead(reply.status, { "Content-Type": "application/json" }).end(JSON.stringify(reply.body ?? {}));
    }
  }

  // ---- Dead Nation callback ----------------------------------------------------------------------

  function track(p: Promise<void>): void {
    pendingCallbacks.add(p);
    void p.finally(() => pendingCallbacks.delete(p));
  }

  async function confirmBooking(booking: StoredBooking, correlationId: string | undefined): Promise<void> {
    const url = `${callbackBaseUrl}/api/tickets-status`;
    const payload = JSON.stringify({
      tickets: Array.from({ length: booking.number_of_tickets }, () => ({
        ticket_id: randomUUID(),
        booking_id: booking.booking_id,
        status: "confirmed",
        price: { amount: ticketPrice.amount, currency: ticketPrice.currency },
        customer_email: booking.customer_address,
      })),
    });
    const headers: Record<string, string> = {
      "Content-Type": "application/json",
      "Idempotency-Key": `dead-nation-${booking.booking_id}`,
      ...partnerSignatureHeaders(opts.signingSecret, payload),
    };
    if (correlationId) headers["Correlation-ID"] = correlationId;

    for (let attempt = 1; ; attempt++) {
      if (closing.signal.aborted) return;
      const record: CallbackAttempt = { booking_id: booking.booking_id, url, attempt, ok: false };
      state.callbacks.push(record);
      let retryable = true;
      try {
        const res = await fetch(url, {
          method: "POST",
          headers,
          body: payload,
          signal: AbortSignal.any([closing.signal, AbortSignal.timeout(5000)]),
        });
        await res.arrayBuffer();
        record.status = res.status;
        record.ok = res.ok;
        if (res.ok) {
          log.info({ booking_id: booking.booking_id, attempt, status: res.status }, "dead nation callback delivered");
          return;
        }
        retryable = res.status >= 500 || res.status === 408 || res.status === 429;
      } catch (err) {
        record.error = describeError(err);
      }
      const delay = retryDelays[attempt - 1];
      if (!retryable || delay === undefined || closing.signal.aborted) {
        log.info(
          { booking_id: booking.booking_id, url, attempts: attempt, status: record.status, error: record.error },
          "dead nation callback failed, giving up",
        );
        return;
      }
      try {
        await sleep(delay, closing.signal);
      } catch {
        return;
      }
    }
  }

  // ---- server ------------------------------------------------------------------------------------

  const server = createServer((req, res) => {
    onRequest(req, res).catch((err) => {
      log.info({ err: String(err) }, "gateway simulator request failed");
      if (!res.headersSent && !res.destroyed) res.writeHead(500).end();
    });
  });
  await new Promise<void>((resolve, reject) => {
    server.once("error", reject);
    server.listen(opts.port ?? 0, host, () => {
      server.off("error", reject);
      resolve();
    });
  });
  const { port } = server.address() as AddressInfo;
  const url = `http://${host.includes(":") ? `[${host}]` : host}:${port}`;
  log.info({ url, callbackBaseUrl, autoConfirmDeadNation: autoConfirm }, "gateway simulator listening");

  const sim: GatewaySimulator = {
    url,
    state,
    failNext(match, times, status = 500, options = {}) {
      faults.push({
        method: match.method?.toUpperCase(),
        path: match.path,
        remaining: times,
        status,
        afterEffect: options.afterEffect ?? false,
      });
    },
    setLatency(ms) {
      latencyMs = ms;
    },
    reset() {
      state.receipts.clear();
      state.voids.clear();
      state.refunds.clear();
      state.files.clear();
      state.sheets.clear();
      state.deadNationBookings.length = 0;
      state.callbacks.length = 0;
      state.calls.length = 0;
      receiptSeq = 0;
      faults = [];
      latencyMs = opts.latencyMs ?? 0;
    },
    async settled() {
      while (pendingCallbacks.size > 0) await Promise.allSettled([...pendingCallbacks]);
    },
    async close() {
      closing.abort();
      await Promise.allSettled([...pendingCallbacks]);
      await new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      });
    },
  };
  return sim;
}

// ---- helpers -------------------------------------------------------------------------------------

function injectedReply(fault: Fault): Reply {
  return { status: fault.status, body: { error: `injected fault (${fault.status})` } };
}

class BodyTooLarge extends Error {}

async function readBody(req: IncomingMessage): Promise<string> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of req as AsyncIterable<Buffer>) {
    size += chunk.length;
    if (size > MAX_BODY) throw new BodyTooLarge();
    chunks.push(chunk);
  }
  return Buffer.concat(chunks).toString("utf8");
}

function parseJson(raw: string): unknown {
  try {
    return JSON.parse(raw);
  } catch {
    throw new BadRequest("body is not valid JSON");
  }
}

function tryParse(raw: string): unknown {
  try {
    return JSON.parse(raw);
  } catch {
    return raw;
  }
}

function requireObject(v: unknown, name = "body"): Record<string, unknown> {
  if (typeof v !== "object" || v === null || Array.isArray(v)) throw new BadRequest(`${name} must be a JSON object`);
  return v as Record<string, unknown>;
}

function requireString(obj: Record<string, unknown>, key: string, prefix = ""): string {
  const v = obj[key];
  if (typeof v !== "string" || v === "") throw new BadRequest(`${prefix}${key} is required (non-empty string)`);
  return v;
}

function headerValue(v: string | string[] | undefined): string | undefined {
  return Array.isArray(v) ? v[0] : v;
}

function sleep(ms: number, signal: AbortSignal): Promise<void> {
  return new Promise((resolve, reject) => {
    if (signal.aborted) return reject(signal.reason);
    const timer = setTimeout(() => {
      signal.removeEventListener("abort", onAbort);
      resolve();
    }, ms);
    const onAbort = () => {
      clearTimeout(timer);
      reject(signal.reason);
    };
    signal.addEventListener("abort", onAbort, { once: true });
  });
}

function describeError(err: unknown): string {
  const cause = (err as { cause?: { code?: string } })?.cause;
  return cause?.code ?? errorMessage(err);
}
