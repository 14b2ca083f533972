/**
 * HTTP throughput: POST /api/book-tickets at 50 connections for 10 s through the api-gateway node
 * to a bookings node (a second broker, over NATS), against a moleculer-web route calling a trivial
 * remote action on another broker over the same NATS with the same broker policy, in the same run.
 * The load comes from autocannon in its own process (bench/load-client.ts).
 *
 *   npm run bench:http             BENCH_CONNECTIONS (default 50), BENCH_SECONDS (default 10)
 */
import { execFile } from "node:child_process";
import { randomUUID } from "node:crypto";
import { promisify } from "node:util";
import type { AddressInfo } from "node:net";
import type { Knex } from "knex";
import moleculer from "moleculer";
import ApiGateway from "moleculer-web";
import { loadConfig } from "../config/index.ts";
import { brokerOptions } from "../moleculer.config.ts";
import { startTestSystem, uniqueName } from "../test/support/system.ts";
import { infrastructure } from "../test/support/infrastructure.ts";
import { cpuDuring, machine, report, round, sleep, verdict } from "./support.ts";

const { ServiceBroker } = moleculer;
const connections = Number(process.env.BENCH_CONNECTIONS ?? 50);
const seconds = Number(process.env.BENCH_SECONDS ?? 10);
const run = promisify(execFile);

interface LoadResult {
  requestsPerSecond: number;
  total: number;
  p50: number;
  p99: number;
  statusCodes: Record<string, number>;
  errors: number;
  timeouts: number;
}

async function load(url: string, showIds?: string[]): Promise<LoadResult> {
  const { stdout } = await run(
    process.execPath,
    ["--import", "tsx", "bench/load-client.ts", JSON.stringify({ url, connections, durationSeconds: seconds, showIds })],
    {
      cwd: new URL("..", import.meta.url).pathname,
      maxBuffer: 1 << 20,
    },
  );
  return JSON.parse(stdout.trim().split("\n").pop()!) as LoadResult;
}

/**
 * CPU used during `phase` by this process (api-gateway and action brokers) and by the Postgres
 * backends of `database`, as a share of one core: what bounds the rate on a small machine.
 */
async function cpuShares<T>(
  db: Knex | undefined,
  database: string | undefined,
  phase: () => Promise<T>,
): Promise<{ result: T; shares: string }> {
  const { result, nodeMs, postgresMs, wallMs } = await cpuDuring(db, database, phase);
  const pct = (ms: number) => `${round((100 * ms) / wallMs)}%`;
  return { result, shares: `node brokers ${pct(nodeMs)}, postgres ${pct(postgresMs)} of one core` };
}

/** Responses that are neither 2xx nor 4xx, plus connection errors and timeouts. */
function badResponses(result: LoadResult): number {
  const bad = Object.entries(result.statusCodes)
    .filter(([code]) => !/^[24]/.test(code))
    .reduce((sum, [, n]) => sum + n, 0);
  return bad + result.errors; // autocannon's errors include its timeouts
}

/** Two plain brokers with the cluster's broker policy: moleculer-web on one, `benchecho.echo` on the other. */
async function startBaseline() {
  const infra = await infrastructure();
  const namespace = uniqueName("bh");
  const options = (node: string) =>
    brokerOptions(loadConfig({ NATS_URL: infra.natsUrl, NAMESPACE: namespace, NODE_ID: `${namespace}-${node}`, LOG_LEVEL: "error" }));
  const echo = new ServiceBroker(options("echo"));
  echo.createService({ name: "benchecho", actions: { echo: () => ({ ok: true }) } });
  const web = new ServiceBroker(options("web"));
  web.createService({
    name: "benchweb",
    mixins: [ApiGateway],
    settings: {
      port: 0,
      ip: "127.0.0.1",
      routes: [
        {
          path: "/api",
          mappingPolicy: "restrict",
          autoAliases: false,
          bodyParsers: { json: true },
          aliases: { "POST /echo": "benchecho.echo" },
        },
      ],
    },
  });
  await echo.start();
  await web.start();
  await web.waitForServices(["benchecho"], 10_000);
  const server = (web.getLocalService("benchweb") as unknown as { server: { address(): AddressInfo } }).server;
  return {
    url: `http://127.0.0.1:${server.address().port}/api/echo`,
    async stop() {
      await web.stop();
      await echo.stop();
    },
  };
}

async function main(): Promise<void> {
  const sys = await startTestSystem({ env: { SERVICES: "api", LOG_LEVEL: "error" } });
  const baseline = await startBaseline();
  try {
    await sys.startNode({ SERVICES: "shows,bookings", LOG_LEVEL: "error" });
    await sys.node.broker.waitForServices(["shows", "bookings"], 15_000);
    const showIds: string[] = [];
    for (let i = 0; i < 100; i++) {
      const created = await sys.http("POST", "/api/shows", {
        dead_nation_id: randomUUID(),
        number_of_tickets: 1_000_000,
        start_time: "2027-03-01T20:00:00Z",
        title: `Bench ${i}`,
        venue: "Bench Hall",
      });
      if (created.status !== 201) throw new Error(`POST /api/shows answered ${created.status}: ${created.text}`);
      showIds.push(created.body.show_id);
    }
    await sleep(500);

    const { result: echo, shares: echoCpu } = await cpuShares(undefined, undefined, () => load(baseline.url));
    const db = sys.node.runtime.db;
    const database = new URL(sys.config.POSTGRES_URL).pathname.slice(1);
    const { result: book, shares: bookCpu } = await cpuShares(db, database, () => load(`${sys.url}/api/book-tickets`, showIds));
    const booked = Number((await sys.node.runtime.db("bookings").count({ n: "*" }))[0]!.n);

    report(`bench:http — ${connections} connections × ${seconds} s, ${machine()}`, {
      "book-tickets (req/s)": round(book.requestsPerSecond),
      "book-tickets p50 / p99 (ms)": `${book.p50} / ${book.p99}`,
      "book-tickets statuses": JSON.stringify(book.statusCodes),
      "bookings stored / 201 answers": `${booked} / ${book.statusCodes["201"] ?? 0}`,
      "CPU during book-tickets": bookCpu,
      "remote trivial action via moleculer-web (req/s)": round(echo.requestsPerSecond),
      "trivial action p50 / p99 (ms)": `${echo.p50} / ${echo.p99}`,
      "trivial action statuses": JSON.stringify(echo.statusCodes),
      "CPU during trivial": echoCpu,
      "book-tickets / trivial": verdict(book.requestsPerSecond / echo.requestsPerSecond, 0.4),
      "responses other than 2xx/4xx (book, trivial)": `${badResponses(book)}, ${badResponses(echo)}${badResponses(book) + badResponses(echo) === 0 ? " (target 0: met)" : " (target 0: MISSED)"}`,
    });
  } finally {
    await baseline.stop();
    await sys.stop();
  }
}

await main();
