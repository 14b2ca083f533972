// Injected faults: the next N calls matching a method and path answer a chosen status, before the
// partner's effect or after it (a "lost response").
import { errorReply, type Reply } from "./http.ts";

export interface FaultMatch {
  method?: string;
  path: string | RegExp;
}
export interface FaultOptions {
  /** Apply the effect first, then answer with the fault status (a "lost response"). */
  afterEffect?: boolean;
  /** Wait this long before acting and answering: a client that gives up first leaves the partner still applying it. */
  delayMs?: number;
}

interface Fault {
  method?: string;
  path: string | RegExp;
  remaining: number;
  status: number;
  afterEffect: boolean;
  delayMs: number;
}

export interface FaultBook {
  add(match: FaultMatch, times: number, status: number, options: FaultOptions): void;
  /** The first fault matching the call, counted down (and dropped once used up). */
  take(method: string, path: string): Fault | undefined;
  /** The pending faults as JSON shows them. */
  list(): object[];
  clear(): void;
}

export function createFaultBook(): FaultBook {
  let faults: Fault[] = [];
  return {
    add(match, times, status, options) {
      const method = match.method?.toUpperCase();
      faults.push({
        method,
        path: match.path,
        remaining: times,
        status,
        afterEffect: options.afterEffect ?? false,
        delayMs: options.delayMs ?? 0,
      });
    },
    take(method, path) {
      const fault = faults.find((f) => matches(f, method, path));
      if (fault && --fault.remaining <= 0) faults = faults.filter((f) => f !== fault);
      return fault;
    },
    list: () => faults.map((f) => ({ ...f, path: String(f.path) })),
    clear() {
      faults = [];
    },
  };
}

function matches(fault: Fault, method: string, path: string): boolean {
  if (fault.method && fault.method.toUpperCase() !== method) return false;
  return typeof fault.path === "string" ? fault.path === path : fault.path.test(path);
}

export function injectedReply(fault: Fault): Reply {
  return errorReply(fault.status, `injected fault (${fault.status})`);
}
