/**
 * Lists that scale: latency of `GET /api/tickets?limit=100` with 1 000 tickets in the table and
 * then with 200 000, in one run on one system. Keyset pages read the index from the cursor's
 * position, so the ratio should stay near 1; a full scan (the old list) would grow with the table.
 * Two systems run side by side (one database each) and are asked in turns, so both see the same
 * load. Each size measures the first page, a page from the middle (its cursor taken from the Link
 * chain) and the first page by customer email.
 *
 *   npm run bench:lists     BENCH_REQUESTS (default 300 per figure), BENCH_TICKETS (default 200000)
 */
import { insertTickets } from "./list-rows.ts";
import { machine, percentile, report, round, verdict } from "./support.ts";
import { startTestSystem, type TestSystem } from "../test/support/system.ts";

const requests = Number(process.env.BENCH_REQUESTS ?? 300);
const large = Number(process.env.BENCH_TICKETS ?? 200_000);
const small = 1_000;
/** Requests before each figure, so JIT and connection warm-up stay out of it. */
const warmUp = 200;

type Latency = { p50: number; p95: number };

/**
 * Latencies in ms of `requests` GETs of each system's path, alternating between the systems so
 * both see the same load of a shared machine; after a warm-up.
 */
async function latencies(targets: { sys: TestSystem; path: string }[]): Promise<Latency[]> {
  const times: number[][] = targets.map(() => []);
  for (let i = 0; i < requests + warmUp; i++) {
    for (const [n, { sys, path }] of targets.entries()) {
      const started = performance.now();
      const response = await fetch(`${sys.url}${path}`);
      await response.arrayBuffer();
      if (response.status !== 200) throw new Error(`GET ${path} answered ${response.status}`);
      if (i >= warmUp) times[n]!.push(performance.now() - started);
    }
  }
  return times.map((list) => {
    list.sort((a, b) => a - b);
    return { p50: round(percentile(list, 50), 2), p95: round(percentile(list, 95), 2) };
  });
}

/** The path of the page of 100 that starts after the first `skipped` tickets, following the Link chain. */
async function pageAfter(sys: TestSystem, skipped: number): Promise<string> {
  let cursor = "";
  for (let left = skipped; left > 0; left -= 1000) {
    const response = await fetch(`${sys.url}/api/tickets?limit=${Math.min(left, 1000)}${cursor}`);
    cursor = `&cursor=${response.headers.get("link")!.match(/cursor=([^&>]+)/)![1]}`;
  }
  return `/api/tickets?limit=100${cursor}`;
}

// Two systems side by side, each with its own database: one with few tickets, one with many.
const options = { env: { SERVICES: "api,tickets,shows,ops" } };
const [few, many] = [await startTestSystem(options), await startTestSystem(options)];
try {
  await insertTickets(few.node.runtime.db, small);
  await insertTickets(many.node.runtime.db, large);
  const figures: Record<string, string> = {};
  const line = (m: Latency) => `p50 ${m.p50} ms, p95 ${m.p95} ms`;
  const compare = async (name: string, fewPath: string, manyPath: string) => {
    const [a, b] = await latencies([
      { sys: few, path: fewPath },
      { sys: many, path: manyPath },
    ]);
    figures[`${name}, ${small}`] = line(a!);
    figures[`${name}, ${large}`] = line(b!);
    figures[`${name} ratio (p50)`] = verdict(b!.p50 / a!.p50, 1.5, false);
  };
  await compare("first page", "/api/tickets?limit=100", "/api/tickets?limit=100");
  await compare("middle page", await pageAfter(few, small / 2), await pageAfter(many, large / 2));
  const byEmail = "/api/tickets?limit=100&customer_email=customer7@example.com";
  await compare("by customer_email", byEmail, byEmail);
  report(`GET /api/tickets?limit=100: ${small} vs ${large} tickets (${requests} requests each, alternating) — ${machine()}`, figures);
} finally {
  await Promise.allSettled([few.stop(), many.stop()]);
}
