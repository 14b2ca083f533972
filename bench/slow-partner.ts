/**
 * The API while the partners are slow: GET /api/shows and POST /api/book-tickets latency (p50/p99)
 * with a few hundred tickets queued for fulfilment, first with the gateway answering at once, then
 * with every partner answering after 4 s — one run, one node with the production pool, slot and
 * consumer settings. Handlers that hold a transaction across a gateway call use their own pool
 * behind the node's handler slots, so the API's figures should barely move.
 *
 *   npm run bench:slow-partner     BENCH_TICKETS (default 300), BENCH_SAMPLE_MS (default 15000), BENCH_LATENCY_MS (default 4000)
 */
import { randomUUID } from "node:crypto";
import { quiet, startTestSystem, type TestSystem } from "../test/support/system.ts";
import { machine, percentile, report, round, sleep } from "./support.ts";

const tickets = Number(process.env.BENCH_TICKETS ?? 300);
const sampleMs = Number(process.env.BENCH_SAMPLE_MS ?? 15_000);
const partnerLatencyMs = Number(process.env.BENCH_LATENCY_MS ?? 4_000);
const CLIENTS = 4;

/** A node as production runs it (startTestSystem's fast-retry test settings undone). */
const production = {
  SERVICES: "api,shows,tickets,bookings,datalake",
  POSTGRES_POOL_MAX: "20",
  HANDLER_POOL_MAX: "10",
  CONSUMER_BACKOFF_MS: "400,800,1000",
  CONSUMER_BACKOFF_MAX_MS: "30000",
  CONSUMER_RETRY_BUDGET_MS: String(15 * 60_000),
  CONSUMER_ACK_WAIT_MS: "30000",
  GATEWAY_TIMEOUT_MS: "5000",
  GATEWAY_BREAKER_COOLDOWN_MS: "1000",
  GATEWAY_BREAKER_MAX_COOLDOWN_MS: "30000",
  LOG_LEVEL: "warn",
};

async function queueTickets(sys: TestSystem): Promise<void> {
  for (let i = 0; i < tickets; i += 100) {
    const body = {
      tickets: Array.from({ length: Math.min(100, tickets - i) }, () => ({
        ticket_id: randomUUID(),
        status: "confirmed",
        price: { amount: "10.00", currency: "EUR" },
        customer_email: "bench@example.com",
      })),
    };
    const response = await sys.http("POST", "/api/tickets-status", body, { "Idempotency-Key": randomUUID() });
    if (response.status !== 200) throw new Error(`tickets-status answered ${response.status}`);
  }
}

/** Clients alternating a show listing and a booking for `sampleMs`; latencies by request. */
async function sampleApi(sys: TestSystem, showId: string): Promise<{ shows: number[]; bookings: number[]; errors: number }> {
  const shows: number[] = [];
  const bookings: number[] = [];
  let errors = 0;
  const until = Date.now() + sampleMs;
  const timed = async (into: number[], request: () => Promise<{ status: number }>, ok: number) => {
    const started = performance.now();
    const { status } = await request();
    into.push(performance.now() - started);
    if (status !== ok) errors++;
  };
  const client = async () => {
    while (Date.now() < until) {
      await timed(shows, () => sys.http("GET", "/api/shows"), 200);
      const booking = { show_id: showId, number_of_tickets: 1, customer_email: "bench@example.com" };
      await timed(bookings, () => sys.http("POST", "/api/book-tickets", booking), 201);
      await sleep(20);
    }
  };
  await Promise.all(Array.from({ length: CLIENTS }, client));
  return { shows, bookings, errors };
}

const ms = (values: number[], p: number) =>
  round(
    percentile(
      [...values].sort((a, b) => a - b),
      p,
    ),
    1,
  );

async function phase(sys: TestSystem, showId: string, latencyMs: number) {
  sys.sim.setLatency(latencyMs);
  await queueTickets(sys);
  const sample = await sampleApi(sys, showId);
  const backlog = tickets - sys.sim.state.receipts.size;
  return { ...sample, backlog };
}

async function main(): Promise<void> {
  const sys = await startTestSystem({ env: production });
  try {
    const show = await sys.http("POST", "/api/shows", {
      dead_nation_id: randomUUID(),
      number_of_tickets: 1_000_000,
      start_time: "2027-05-01T19:00:00Z",
      title: "Bench",
      venue: "Slow Partner Hall",
    });
    if (show.status !== 201) throw new Error(`POST /api/shows answered ${show.status}`);
    const showId = show.body.show_id;

    const fast = await phase(sys, showId, 0);
    while (!(await quiet(sys))) await sleep(200);
    sys.sim.reset();
    const slow = await phase(sys, showId, partnerLatencyMs);

    report(`API latency with ${tickets} tickets queued, gateway fast vs ${partnerLatencyMs} ms (${machine()})`, {
      "fast gateway GET /api/shows p50 / p99 ms": `${ms(fast.shows, 50)} / ${ms(fast.shows, 99)} (${fast.shows.length} requests)`,
      "fast gateway POST /api/book-tickets p50 / p99 ms": `${ms(fast.bookings, 50)} / ${ms(fast.bookings, 99)} (${fast.bookings.length} requests)`,
      "slow gateway GET /api/shows p50 / p99 ms": `${ms(slow.shows, 50)} / ${ms(slow.shows, 99)} (${slow.shows.length} requests)`,
      "slow gateway POST /api/book-tickets p50 / p99 ms": `${ms(slow.bookings, 50)} / ${ms(slow.bookings, 99)} (${slow.bookings.length} requests)`,
      "non-2xx answers (fast / slow)": `${fast.errors} / ${slow.errors}`,
      "tickets still without a receipt at the end of the sample (fast / slow)": `${fast.backlog} / ${slow.backlog}`,
    });
  } finally {
    sys.sim.setLatency(0);
    await sys.stop();
  }
}

await main();
