/**
 * Fulfilment scaling: with the gateway simulator answering after 20 ms, how many confirmed
 * tickets per second get their receipt with 1 worker node process vs 3 (SERVICES=tickets, every
 * worker pulling from the same durable consumers). The workers start first; then confirmations
 * are committed to the outbox and relayed by an api-only node, so the workers do only fulfilment.
 * The rate is taken between 10% and 90% of the receipts (the ramp-up and the tail left out); a
 * fresh cluster (database, namespace, simulator) is used for each worker count.
 *
 *   npm run bench:scaling     BENCH_TICKETS (default 1500), BENCH_GATEWAY_LATENCY_MS (default 20),
 *                             BENCH_WORKERS (default "1,3"), CONSUMER_CONCURRENCY (node default when unset)
 */
import { randomUUID } from "node:crypto";
import { TicketBookingConfirmed_v1 } from "../contracts/index.ts";
import { writeToOutbox } from "../lib/messaging/outbox.ts";
import { startLocalCluster } from "../test/cluster/local-cluster.ts";
import { machine, report, round, sleep, verdict } from "./support.ts";

const tickets = Number(process.env.BENCH_TICKETS ?? 1500);
const latencyMs = Number(process.env.BENCH_GATEWAY_LATENCY_MS ?? 20);
const workerCounts = (process.env.BENCH_WORKERS ?? "1,3").split(",").map(Number);
const concurrency = process.env.CONSUMER_CONCURRENCY;

interface ScalingRun {
  workers: number;
  ticketsPerSecond: number;
  totalSeconds: number;
  receipts: number;
}

async function measure(workers: number): Promise<ScalingRun> {
  const cluster = await startLocalCluster({
    env: {
      LOG_LEVEL: "error",
      CONSUMER_ACK_WAIT_MS: "30000",
      GATEWAY_TIMEOUT_MS: "5000",
      ...(concurrency ? { CONSUMER_CONCURRENCY: concurrency } : {}),
    },
  });
  try {
    cluster.sim.setLatency(latencyMs);
    await cluster.startNode("ingest", ["api-gateway"]);
    // Workers first, so every durable consumer has all its pullers before the first message.
    await Promise.all(Array.from({ length: workers }, (_, i) => cluster.startNode(`worker-${i + 1}`, ["tickets"])));
    await sleep(1_000);
    const db = cluster.observer.runtime.db;
    const topology = cluster.observer.runtime.topology;
    const started = performance.now();
    for (let written = 0; written < tickets; written += 500) {
      await db.transaction(async (trx) => {
        for (let i = written; i < Math.min(tickets, written + 500); i++) {
          await writeToOutbox(trx, topology, {
            contract: TicketBookingConfirmed_v1,
            body: {
              booking_id: "",
              ticket_id: randomUUID(),
              customer_email: "scaling@example.com",
              price: { amount: "10.00", currency: "EUR" },
            },
          });
        }
      });
    }
    const receipts = () => cluster.sim.state.receipts.size;
    const at = async (count: number) => {
      const deadline = Date.now() + 10 * 60_000;
      while (receipts() < count) {
        if (Date.now() > deadline) throw new Error(`only ${receipts()} of ${tickets} receipts after 10 minutes`);
        await sleep(20);
      }
      return performance.now();
    };
    const t10 = await at(Math.ceil(tickets * 0.1));
    const t90 = await at(Math.ceil(tickets * 0.9));
    const done = await at(tickets);
    return {
      workers,
      ticketsPerSecond: (tickets * 0.8) / ((t90 - t10) / 1000),
      totalSeconds: (done - started) / 1000,
      receipts: receipts(),
    };
  } finally {
    await cluster.stop();
  }
}

async function main(): Promise<void> {
  const runs: ScalingRun[] = [];
  for (const workers of workerCounts) runs.push(await measure(workers));
  const figures: Record<string, string | number> = {};
  for (const run of runs) {
    figures[`${run.workers} worker(s): receipts/s (10%→90%)`] = round(run.ticketsPerSecond, 1);
    figures[`${run.workers} worker(s): all ${tickets} receipts after (s)`] = round(run.totalSeconds, 1);
  }
  const [one, three] = [runs.find((r) => r.workers === 1), runs.find((r) => r.workers === 3)];
  if (one && three) figures["3 workers / 1 worker"] = verdict(three.ticketsPerSecond / one.ticketsPerSecond, 2.6);
  report(
    `bench:scaling — ${tickets} tickets, gateway latency ${latencyMs} ms, CONSUMER_CONCURRENCY ${concurrency ?? "default"}, ${machine()}`,
    figures,
  );
}

await main();
