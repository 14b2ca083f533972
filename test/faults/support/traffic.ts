/**
 * Client traffic for fault tests, as a careful client sends it: every request carries an
 * Idempotency-Key and is retried with the same key and body after a network error or a 5xx until
 * it gets a final answer, so "accepted" means the client saw a 2xx. Every attempt's outcome is
 * counted, to show what the fault looked like from outside.
 */
import { randomUUID } from "node:crypto";

export interface TrafficOptions {
  apiUrl: string;
  /** tickets-status requests per second (each confirms `ticketsPerRequest` new tickets). */
  ticketRequestsPerSecond?: number;
  ticketsPerRequest?: number;
  /** book-tickets requests per second on `showId`. */
  bookingsPerSecond?: number;
  showId?: string;
  /** A client gives a request up after this long without a final answer. */
  giveUpAfterMs?: number;
}

export interface RequestOutcome {
  status: number | string;
  body: any;
}

/** One request, retried with the same Idempotency-Key until it gets a 2xx/4xx or the deadline passes. */
export async function sendUntilAnswered(
  url: string,
  method: string,
  body: unknown,
  headers: Record<string, string>,
  attempts?: Map<string, number>,
  giveUpAfterMs = 120_000,
): Promise<RequestOutcome> {
  const deadline = Date.now() + giveUpAfterMs;
  for (;;) {
    let outcome: RequestOutcome;
    try {
      const response = await fetch(url, {
        method,
        headers: { "Content-Type": "application/json", ...headers },
        body: JSON.stringify(body),
        signal: AbortSignal.timeout(10_000),
      });
      const text = await response.text();
      outcome = { status: response.status, body: text ? JSON.parse(text) : null };
    } catch (error) {
      const cause = (error as { cause?: { code?: string } }).cause;
      outcome = { status: cause?.code ?? (error as Error).name, body: null };
    }
    attempts?.set(String(outcome.status), (attempts.get(String(outcome.status)) ?? 0) + 1);
    if (typeof outcome.status === "number" && outcome.status < 500) return outcome;
    if (Date.now() > deadline) return outcome;
    await new Promise((resolve) => setTimeout(resolve, 250));
  }
}

export async function createShow(apiUrl: string, capacity: number): Promise<string> {
  const outcome = await sendUntilAnswered(
    `${apiUrl}/api/shows`,
    "POST",
    {
      dead_nation_id: randomUUID(),
      number_of_tickets: capacity,
      start_time: "2027-01-15T20:00:00Z",
      title: "Fault show",
      venue: "Loopback Hall",
    },
    { "Idempotency-Key": randomUUID() },
  );
  if (outcome.status !== 201) throw new Error(`POST /api/shows answered ${outcome.status}: ${JSON.stringify(outcome.body)}`);
  return outcome.body.show_id;
}

export class Traffic {
  readonly acceptedTickets = new Set<string>();
  readonly acceptedBookings = new Set<string>();
  /** Final answers by status; a request given up counts under its last outcome. */
  readonly finalStatuses = new Map<string, number>();
  /** Every attempt's outcome: statuses and network error codes. */
  readonly attempts = new Map<string, number>();
  private readonly inFlight = new Set<Promise<void>>();
  private timers: NodeJS.Timeout[] = [];

  constructor(private readonly options: TrafficOptions) {}

  start(): this {
    const { ticketRequestsPerSecond = 10, bookingsPerSecond = 0 } = this.options;
    if (ticketRequestsPerSecond > 0) this.timers.push(setInterval(() => this.track(this.confirmTickets()), 1000 / ticketRequestsPerSecond));
    if (bookingsPerSecond > 0) this.timers.push(setInterval(() => this.track(this.book()), 1000 / bookingsPerSecond));
    return this;
  }

  /** Stops sending new requests and waits until every request sent has its final answer. */
  async stop(): Promise<void> {
    for (const timer of this.timers) clearInterval(timer);
    this.timers = [];
    while (this.inFlight.size > 0) await Promise.allSettled([...this.inFlight]);
  }

  /** Requests that never got a final answer or ended in a 5xx. */
  get failed(): number {
    return [...this.finalStatuses].filter(([status]) => !/^[234]\d\d$/.test(status)).reduce((sum, [, n]) => sum + n, 0);
  }

  private track(request: Promise<void>): void {
    this.inFlight.add(request);
    void request.finally(() => this.inFlight.delete(request));
  }

  private finish(outcome: RequestOutcome): void {
    this.finalStatuses.set(String(outcome.status), (this.finalStatuses.get(String(outcome.status)) ?? 0) + 1);
  }

  private async confirmTickets(): Promise<void> {
    const tickets = Array.from({ length: this.options.ticketsPerRequest ?? 2 }, () => ({
      ticket_id: randomUUID(),
      status: "confirmed",
      price: { amount: "42.00", currency: "EUR" },
      customer_email: "faults@example.com",
    }));
    const outcome = await sendUntilAnswered(
      `${this.options.apiUrl}/api/tickets-status`,
      "POST",
      { tickets },
      { "Idempotency-Key": randomUUID() },
      this.attempts,
      this.options.giveUpAfterMs,
    );
    this.finish(outcome);
    if (outcome.status === 200) for (const t of tickets) this.acceptedTickets.add(t.ticket_id);
  }

  private async book(): Promise<void> {
    const body = { show_id: this.options.showId, number_of_tickets: 1, customer_email: "faults@example.com" };
    const outcome = await sendUntilAnswered(
      `${this.options.apiUrl}/api/book-tickets`,
      "POST",
      body,
      { "Idempotency-Key": randomUUID() },
      this.attempts,
      this.options.giveUpAfterMs,
    );
    this.finish(outcome);
    if (outcome.status === 201) this.acceptedBookings.add(outcome.body.booking_id);
  }
}
