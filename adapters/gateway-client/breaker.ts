// One circuit breaker per partner: after a run of failures the partner gets no calls for a cool-down
// (doubling while it stays down), then one trial call; its answer closes or reopens the circuit.
// Handlers retry a refused call within their time budget, so the backlog resumes when it returns.

export interface BreakerOptions {
  /** Consecutive failures (no answer, or a 5xx/429) that open the circuit. */
  failures: number;
  cooldownMs: number;
  maxCooldownMs: number;
  now?: () => number;
}

export interface Breaker {
  /** False while the circuit is open or its trial call is out. */
  admit(): boolean;
  succeeded(): void;
  failed(): void;
}

export function createBreaker(opts: BreakerOptions): Breaker {
  const now = opts.now ?? Date.now;
  let consecutive = 0;
  let cooldown = opts.cooldownMs;
  let openUntil = 0;
  let trialOut = false;
  const isOpen = () => consecutive >= opts.failures;
  return {
    admit() {
      if (!isOpen()) return true;
      if (trialOut || now() < openUntil) return false;
      trialOut = true;
      return true;
    },
    succeeded() {
      consecutive = 0;
      cooldown = opts.cooldownMs;
      trialOut = false;
    },
    failed() {
      const wasTrial = trialOut;
      trialOut = false;
      consecutive++;
      if (!isOpen()) return;
      if (wasTrial) cooldown = Math.min(opts.maxCooldownMs, cooldown * 2);
      openUntil = now() + cooldown;
    },
  };
}

/** A partner is the first segment of the path: receipts-api, payments-api, dead-nation-api, … */
export function partnerOf(path: string): string {
  return path.split("/")[1] ?? "";
}

/** A failure that says the partner itself is down or overloaded, not that this one request was wrong. */
export function isOutage(status: number | undefined): boolean {
  return status === undefined || status >= 500 || status === 429;
}
