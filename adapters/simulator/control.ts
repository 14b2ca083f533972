// The simulator's own endpoints under /_simulator: read-back of every partner's state, reset, and
// faults and latency set over HTTP. Calls to them are not recorded and never delayed or faulted.
import { z } from "zod";
import { BadRequest, errorReply, parseBody, type Reply } from "./http.ts";
import { createFaultBook, type FaultBook, type FaultMatch, type FaultOptions } from "./faults.ts";
import { clearState, type GatewaySimulatorState } from "./state.ts";

export interface Controls {
  url: string;
  state: GatewaySimulatorState;
  faults: FaultBook;
  latencyMs(): number;
  failNext(match: FaultMatch, times: number, status?: number, options?: FaultOptions): void;
  setLatency(ms: number): void;
  reset(): void;
}

/** The controls of a simulator over `state`; its url is filled in once the server listens. */
export function createControls(state: GatewaySimulatorState, initialLatencyMs: number): Controls {
  const faults = createFaultBook();
  let latencyMs = initialLatencyMs;
  return {
    url: "",
    state,
    faults,
    latencyMs: () => latencyMs,
    failNext: (match, times, status = 500, options = {}) => faults.add(match, times, status, options),
    setLatency: (ms) => {
      latencyMs = ms;
    },
    reset: () => {
      clearState(state);
      faults.clear();
      latencyMs = initialLatencyMs;
    },
  };
}

const FaultBody = z.object({
  method: z.string().optional(),
  path: z.string().min(1, "must be a non-empty string"),
  regex: z.boolean().optional(),
  times: z.number().int().positive("must be a positive integer").default(1),
  status: z.number().int().min(100, "must be an HTTP status").max(599, "must be an HTTP status").default(500),
  after_effect: z.boolean().optional(),
  delay_ms: z.number().int().nonnegative("must be a non-negative integer").optional(),
});

const LatencyBody = z.object({ ms: z.number().nonnegative("must be a non-negative number") });

export function isControlPath(path: string): boolean {
  return path === "/_simulator" || path.startsWith("/_simulator/");
}

export function control(c: Controls, method: string, path: string, raw: string): Reply {
  const read = method === "GET" ? readBacks[path] : undefined;
  if (read) return { status: 200, body: read(c) };
  const command = method === "POST" ? commands[path] : undefined;
  if (command) return command(c, raw);
  return errorReply(404, `no simulator endpoint ${method} ${path}`);
}

const readBacks: Record<string, (c: Controls) => object> = {
  "/_simulator": summary,
  "/_simulator/receipts": ({ state }) => ({ receipts: [...state.receipts.values()] }),
  "/_simulator/voids": ({ state }) => ({ voids: [...state.voids.values()] }),
  "/_simulator/refunds": ({ state }) => ({ refunds: [...state.refunds.values()] }),
  "/_simulator/files": ({ state }) => ({ files: [...state.files].map(([id, content]) => ({ id, content })) }),
  "/_simulator/sheets": ({ state }) => ({ sheets: Object.fromEntries(state.sheets) }),
  "/_simulator/dead-nation/bookings": ({ state }) => ({ bookings: state.deadNationBookings, callbacks: state.callbacks }),
  "/_simulator/calls": ({ state }) => ({ calls: state.calls }),
};

const commands: Record<string, (c: Controls, raw: string) => Reply> = {
  "/_simulator/reset": (c) => {
    c.reset();
    return { status: 200, body: {} };
  },
  "/_simulator/faults": (c, raw) => {
    const { method, path, regex, times, status, after_effect, delay_ms } = parseBody(FaultBody, raw);
    c.failNext({ method, path: regex ? pattern(path) : path }, times, status, { afterEffect: after_effect, delayMs: delay_ms });
    return { status: 201, body: { faults: c.faults.list() } };
  },
  "/_simulator/latency": (c, raw) => {
    const { ms } = parseBody(LatencyBody, raw);
    c.setLatency(ms);
    return { status: 200, body: { latency_ms: ms } };
  },
};

function pattern(source: string): RegExp {
  try {
    return new RegExp(source);
  } catch (err) {
    throw new BadRequest(`path is not a regular expression: ${(err as Error).message}`);
  }
}

function summary(c: Controls): object {
  const { state } = c;
  return {
    url: c.url,
    latency_ms: c.latencyMs(),
    faults: c.faults.list(),
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
