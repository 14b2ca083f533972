/**
 * What observability costs: the time and size of one /metrics scrape of a whole node (Moleculer's
 * registry, the application registry, the Postgres and JetStream figures read at scrape time) after
 * some traffic, and the cost of one span (start, make active, end) against the same async call
 * without one, measured in the same run.
 *
 *   npm run bench:observability    BENCH_SCRAPES (default 200), BENCH_TICKETS (default 200)
 */
import { randomUUID } from "node:crypto";
import { SpanKind } from "@opentelemetry/api";
import { inSpan } from "../lib/observability/tracing.ts";
import { startTestSystem } from "../test/support/system.ts";
import { machine, percentile, report, round, sleep } from "./support.ts";

const scrapes = Number(process.env.BENCH_SCRAPES ?? 200);
const tickets = Number(process.env.BENCH_TICKETS ?? 200);
const spans = 200_000;

async function main() {
  console.log(machine());
  const sys = await startTestSystem();
  try {
    for (let i = 0; i < tickets; i++) {
      const ticket = {
        ticket_id: randomUUID(),
        status: "confirmed",
        price: { amount: "10.00", currency: "EUR" },
        customer_email: "bench@example.com",
      };
      await sys.http("POST", "/api/tickets-status", { tickets: [ticket] }, { "Idempotency-Key": randomUUID() });
    }
    await sleep(3000);

    const times: number[] = [];
    let text = "";
    for (let i = 0; i < scrapes; i++) {
      const started = performance.now();
      text = await (await fetch(`${sys.url}/metrics`)).text();
      times.push(performance.now() - started);
    }
    times.sort((a, b) => a - b);
    const lines = text.split("\n");
    report("GET /metrics (whole node, sequential scrapes)", {
      scrapes,
      "series (samples)": lines.filter((l) => l && !l.startsWith("#")).length,
      "durable consumers": lines.filter((l) => l.startsWith("jetstream_consumer_pending_messages{")).length,
      "body bytes": text.length,
      "p50 ms": round(percentile(times, 50), 1),
      "p95 ms": round(percentile(times, 95), 1),
      "max ms": round(times.at(-1)!, 1),
    });
  } finally {
    await sys.stop();
  }

  // The system above installed the process's tracer provider (no exporter attached).
  const call = async () => 1;
  let started = performance.now();
  for (let i = 0; i < spans; i++) await call();
  const plain = performance.now() - started;
  started = performance.now();
  for (let i = 0; i < spans; i++) await inSpan("bench", { kind: SpanKind.INTERNAL }, call);
  const traced = performance.now() - started;
  report("one span around an async call (no exporter)", {
    calls: spans,
    "plain µs/call": round((plain / spans) * 1000, 2),
    "in a span µs/call": round((traced / spans) * 1000, 2),
    "span cost µs": round(((traced - plain) / spans) * 1000, 2),
  });
}

await main();
