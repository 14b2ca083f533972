/**
 * HTTP calls around a SIGKILLed worker: a gateway node and two worker nodes (separate processes),
 * steady POST /api/tickets-status traffic through the gateway, then one worker is killed with
 * SIGKILL. Prints latency and failures before and after the kill, and how long the slowest call
 * that was routed towards the dead node took. Every request carries its own Idempotency-Key, so a
 * retried call never doubles an effect.
 *
 *   npm run bench:failover     BENCH_CONCURRENCY (default 8), BENCH_AFTER_KILL_MS (default 12000)
 */
import { randomUUID } from "node:crypto";
import { startLocalCluster } from "../test/cluster/local-cluster.ts";
import { machine, percentile, report, round, sleep } from "./support.ts";

const concurrency = Number(process.env.BENCH_CONCURRENCY ?? 8);
const afterKillMs = Number(process.env.BENCH_AFTER_KILL_MS ?? 12_000);
const workerServices = ["tickets", "datalake", "admin"];

interface Call {
  startedAt: number;
  ms: number;
  status: number;
}

const cluster = await startLocalCluster();
try {
  await cluster.startNode("gateway", ["api-gateway"]);
  await cluster.startNode("worker-1", workerServices);
  await cluster.startNode("worker-2", workerServices);
  await sleep(1000);

  const calls: Call[] = [];
  let running = true;
  const post = async () => {
    const startedAt = Date.now();
    const body = {
      tickets: [
        { ticket_id: randomUUID(), status: "confirmed", price: { amount: "10.00", currency: "EUR" }, customer_email: "bench@example.com" },
      ],
    };
    let status = 0;
    try {
      const response = await fetch(`${cluster.url}/api/tickets-status`, {
        method: "POST",
        headers: { "Content-Type": "application/json", "Idempotency-Key": randomUUID() },
        body: JSON.stringify(body),
        signal: AbortSignal.timeout(120_000),
      });
      status = response.status;
      await response.arrayBuffer();
    } catch {
      status = -1;
    }
    calls.push({ startedAt, ms: Date.now() - startedAt, status });
  };
  const loops = Array.from({ length: concurrency }, async () => {
    while (running) await post();
  });

  await sleep(4000);
  const killedAt = Date.now();
  await cluster.processes.get("worker-1")!.kill();
  await sleep(afterKillMs);
  running = false;
  await Promise.all(loops);

  const summary = (selected: Call[]) => {
    const ms = selected.map((c) => c.ms).sort((a, b) => a - b);
    return `${selected.length} calls, ${selected.filter((c) => c.status !== 200).length} not 200, p50 ${percentile(ms, 50)} ms, p99 ${percentile(ms, 99)} ms, max ${ms.at(-1)} ms, over 1 s: ${ms.filter((m) => m > 1000).length}`;
  };
  const before = calls.filter((c) => c.startedAt < killedAt - 1000);
  // Calls in flight at the kill or started while the registry still listed the dead node.
  const around = calls.filter((c) => c.startedAt >= killedAt - 1000 && c.startedAt < killedAt + 7000);
  const after = calls.filter((c) => c.startedAt >= killedAt + 7000);
  const accepted = calls.filter((c) => c.status === 200).length;
  const stored = async () => Number((await cluster.observer.runtime.db("tickets").count({ n: "*" }))[0]!.n);
  const drainStarted = Date.now();
  while ((await stored()) < accepted && Date.now() - drainStarted < 60_000) await sleep(200);
  report("HTTP calls around a SIGKILLed worker (gateway + 2 workers)", {
    machine: machine(),
    concurrency,
    "before the kill": summary(before),
    "kill-1 s .. kill+7 s": summary(around),
    "after kill+7 s": summary(after),
    "tickets stored / accepted": `${await stored()} / ${accepted} (${round((Date.now() - drainStarted) / 1000, 1)} s after the traffic stopped)`,
  });
} finally {
  await cluster.stop();
}
