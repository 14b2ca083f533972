/**
 * Booking throughput and latency over HTTP on one node, with a fixed number of clients in flight:
 *   - contended: every request books the same show (one row lock serialises them);
 *   - spread: requests spread over 50 shows (the baseline the contended run is compared with);
 *   - sold out: a show with 100 seats and 10× the demand — losers must be 400s, never 5xx.
 * Then the ops read model rebuild rate: every BookingMade_v1 of the run replayed from the data lake.
 *
 *   node --import tsx bench/bookings.ts     BENCH_REQUESTS (default 2000), BENCH_CLIENTS (default 32)
 */
import { randomUUID } from "node:crypto";
import { rebuildOpsReadModel } from "../services/ops.read-model.ts";
import { startTestSystem, type TestSystem } from "../test/support/system.ts";
import { quiet } from "../test/support/system.ts";
import { machine, percentile, report, round, sleep } from "./support.ts";

const requests = Number(process.env.BENCH_REQUESTS ?? 2000);
const clients = Number(process.env.BENCH_CLIENTS ?? 32);

async function insertShows(sys: TestSystem, count: number, capacity: number): Promise<string[]> {
  const rows = Array.from({ length: count }, () => ({
    show_id: randomUUID(),
    dead_nation_id: randomUUID(),
    number_of_tickets: capacity,
    start_time: "2027-01-01 20:00:00",
    title: "Bench",
    venue: "Bench Hall",
  }));
  await sys.node.runtime.db("shows").insert(rows);
  return rows.map((row) => row.show_id);
}

/** Runs `requests` bookings with `clients` in flight; returns the rate, latency percentiles and status counts. */
async function run(sys: TestSystem, showFor: (i: number) => string) {
  const latencies: number[] = [];
  const statuses = new Map<number, number>();
  let next = 0;
  const started = performance.now();
  await Promise.all(
    Array.from({ length: clients }, async () => {
      for (let i = next++; i < requests; i = next++) {
        const t0 = performance.now();
        const response = await sys.http("POST", "/api/book-tickets", {
          show_id: showFor(i),
          number_of_tickets: 1,
          customer_email: "bench@example.com",
        });
        latencies.push(performance.now() - t0);
        statuses.set(response.status, (statuses.get(response.status) ?? 0) + 1);
      }
    }),
  );
  const seconds = (performance.now() - started) / 1000;
  latencies.sort((a, b) => a - b);
  return {
    rate: round(requests / seconds),
    p50: round(percentile(latencies, 50), 1),
    p99: round(percentile(latencies, 99), 1),
    statuses: [...statuses]
      .sort(([a], [b]) => a - b)
      .map(([status, n]) => `${status}×${n}`)
      .join(" "),
  };
}

async function main(): Promise<void> {
  const sys = await startTestSystem({ env: { SERVICES: "api,shows,bookings,ops,datalake", LOG_LEVEL: "warn" } });
  try {
    const [hot] = await insertShows(sys, 1, requests);
    const spread = await insertShows(sys, 50, requests);
    const [scarce] = await insertShows(sys, 1, 100);
    const contended = await run(sys, () => hot!);
    const baseline = await run(sys, (i) => spread[i % spread.length]!);
    const soldOut = await run(sys, () => scarce!);

    while (!(await quiet(sys))) await sleep(100);
    const started = performance.now();
    const rebuilt = await rebuildOpsReadModel(sys.node.runtime.db, { swap: false });
    const rebuildSeconds = (performance.now() - started) / 1000;

    report(`bookings (${requests} requests, ${clients} clients in flight) — ${machine()}`, {
      "contended (1 show) req/s": contended.rate,
      "contended p50 / p99 ms": `${contended.p50} / ${contended.p99}`,
      "contended statuses": contended.statuses,
      "spread (50 shows) req/s": baseline.rate,
      "spread p50 / p99 ms": `${baseline.p50} / ${baseline.p99}`,
      "contended / spread rate": round(contended.rate / baseline.rate, 2),
      "sold out (100 seats) req/s": soldOut.rate,
      "sold out statuses": soldOut.statuses,
      "ops rebuild events": rebuilt.applied,
      "ops rebuild events/s": round(rebuilt.applied / rebuildSeconds),
    });
  } finally {
    await sys.stop();
  }
}

await main();
