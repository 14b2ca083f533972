// A real HTTP server that behaves like the external gateway, one file per partner as the original
// system kept one stub per partner: receipts and payments deduplicate on their body keys, files
// answer 409 for an existing id, spreadsheets and Dead Nation keep every call (no dedupe, like the
// real partners), and Dead Nation confirms bookings by calling the app back at
// POST {callbackBaseUrl}/api/tickets-status. Everything is inspectable under /_simulator and faults
// can be injected from code or over HTTP.
import { createServer, type IncomingMessage, type Server, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";
import { setTimeout } from "node:timers/promises";
import { type Controls, control, createControls, isControlPath } from "./control.ts";
import { type Callbacks, createCallbacks, type SimulatorLogger } from "./dead-nation-callback.ts";
import { deadNationRoutes } from "./dead-nation.ts";
import { type FaultMatch, type FaultOptions, injectedReply } from "./faults.ts";
import { fileRoutes } from "./files.ts";
import { BadRequest, BodyTooLarge, decodeSegment, errorReply, loggedBody, readBody, type Reply, type Route, writeReply } from "./http.ts";
import { paymentRoutes } from "./payments.ts";
import { receiptRoutes } from "./receipts.ts";
import { spreadsheetRoutes } from "./spreadsheets.ts";
import { createState, type GatewaySimulatorState } from "./state.ts";

export type { SimulatorLogger } from "./dead-nation-callback.ts";
export type { FaultMatch, FaultOptions } from "./faults.ts";
export type * from "./state.ts";

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

export interface GatewaySimulator {
  url: string;
  state: GatewaySimulatorState;
  failNext(match: FaultMatch, times: number, status?: number, options?: FaultOptions): void;
  setLatency(ms: number): void;
  /** Drops every pending fault: a partner outage ends. */
  clearFaults(): void;
  reset(): void;
  /** Resolves when every Dead Nation callback started so far has finished (success or give-up). */
  settled(): Promise<void>;
  close(): Promise<void>;
}

/** What one request is answered from: the partners' routes, their faults and latency, the controls. */
interface Gateway {
  routes: Route[];
  controls: Controls;
  closing: AbortSignal;
}

export async function startGatewaySimulator(opts: GatewaySimulatorOptions = {}): Promise<GatewaySimulator> {
  const log = opts.logger ?? { info() {} };
  const host = opts.host ?? "127.0.0.1";
  const callbackBaseUrl = opts.callbackBaseUrl?.replace(/\/+$/, "");
  const autoConfirm = opts.autoConfirmDeadNation ?? callbackBaseUrl !== undefined;
  const state = createState();
  const closing = new AbortController();
  const callbacks = createCallbacks({
    state,
    callbackBaseUrl: callbackBaseUrl ?? "",
    ticketPrice: opts.ticketPrice ?? { amount: "50.00", currency: "EUR" },
    retryDelaysMs: opts.callbackRetryDelaysMs ?? [100, 300, 1000, 2000],
    log,
    signingSecret: opts.signingSecret,
    signal: closing.signal,
  });
  const confirm = autoConfirm && callbackBaseUrl ? callbacks.confirmLater : undefined;
  const routes = [
    ...receiptRoutes(state),
    ...paymentRoutes(state),
    ...deadNationRoutes(state, confirm),
    ...fileRoutes(state),
    ...spreadsheetRoutes(state),
  ];
  const controls = createControls(state, opts.latencyMs ?? 0);
  const gateway: Gateway = { routes, controls, closing: closing.signal };
  const server = await listen(gateway, opts.port ?? 0, host, log);
  controls.url = urlOf(server, host);
  log.info({ url: controls.url, callbackBaseUrl, autoConfirmDeadNation: autoConfirm }, "gateway simulator listening");
  return simulator(controls, server, closing, callbacks);
}

function simulator(controls: Controls, server: Server, closing: AbortController, callbacks: Callbacks): GatewaySimulator {
  const { url, state, failNext, setLatency, reset } = controls;
  return {
    url,
    state,
    failNext,
    setLatency,
    clearFaults: () => controls.faults.clear(),
    reset,
    settled: () => callbacks.settled(),
    async close() {
      closing.abort();
      await callbacks.settled();
      await new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      });
    },
  };
}

async function listen(gateway: Gateway, port: number, host: string, log: SimulatorLogger): Promise<Server> {
  const server = createServer((req, res) => {
    onRequest(gateway, req, res).catch((err) => {
      log.info({ err: String(err) }, "gateway simulator request failed");
      if (!res.headersSent && !res.destroyed) res.writeHead(500).end();
    });
  });
  await new Promise<void>((resolve, reject) => {
    server.once("error", reject);
    server.listen(port, host, () => {
      server.off("error", reject);
      resolve();
    });
  });
  return server;
}

function urlOf(server: Server, host: string): string {
  const { port } = server.address() as AddressInfo;
  return `http://${host.includes(":") ? `[${host}]` : host}:${port}`;
}

async function onRequest(gateway: Gateway, req: IncomingMessage, res: ServerResponse): Promise<void> {
  const method = (req.method ?? "GET").toUpperCase();
  const path = new URL(req.url ?? "/", "http://sim").pathname;
  const isControl = isControlPath(path);
  const { controls } = gateway;
  let raw = "";
  let reply: Reply;
  try {
    raw = await readBody(req);
    if (!isControl && controls.latencyMs() > 0) await setTimeout(controls.latencyMs(), undefined, { signal: gateway.closing });
    reply = isControl ? control(controls, method, path, raw) : await dispatch(gateway, req, method, path, raw);
  } catch (err) {
    reply = failureReply(err, gateway.closing);
  }
  if (!isControl) {
    const at = new Date().toISOString();
    controls.state.calls.push({ method, path, body: loggedBody(raw, req.headers), headers: req.headers, status: reply.status, at });
  }
  if (res.destroyed) return; // the client gave up (timeout); the effect, if any, stays — like a real server
  writeReply(res, reply);
}

/** The partner's answer, unless a fault takes the call before (or after) its effect. */
async function dispatch(gateway: Gateway, req: IncomingMessage, method: string, path: string, raw: string): Promise<Reply> {
  const route = gateway.routes.find((r) => r.method === method && r.pattern.test(path));
  if (!route) return errorReply(404, `no route ${method} ${path}`);
  const fault = gateway.controls.faults.take(method, path);
  if (fault?.delayMs) await setTimeout(fault.delayMs, undefined, { signal: gateway.closing });
  if (fault && !fault.afterEffect) return injectedReply(fault);
  const reply = route.handle({ segment: decodeSegment(path.match(route.pattern)![1]), raw, headers: req.headers });
  return fault ? injectedReply(fault) : reply;
}

function failureReply(err: unknown, closing: AbortSignal): Reply {
  if (err instanceof BadRequest) return { status: 400, body: { error: err.message, details: err.details } };
  if (err instanceof BodyTooLarge) return errorReply(413, "body too large");
  if (closing.aborted) return errorReply(503, "simulator closing");
  return errorReply(500, String(err));
}
