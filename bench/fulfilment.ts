/**
 * Ticket fulfilment on one node: confirmations posted in batches, timed until every ticket has its
 * receipt, file and tracker row at the gateway simulator and its two follow-up events in the data
 * lake; then the exactly-once counts are checked. The figure is CPU per ticket over that phase,
 * end to end: this process (every handler, the relay, the Redis mirror — and the gateway simulator,
 * which runs here too), the test database's Postgres backends, nats-server and redis-server. Beside
 * it: refunds of the same tickets, timed until every TicketRefunded_v1 is in the data lake.
 *
 *   npm run bench:fulfilment     BENCH_TICKETS (default 2000), BENCH_BATCH (default 100),
 *                                BENCH_SERVICES (default api,tickets,refunds,datalake,ops),
 *                                BENCH_ROUNDS (default 2, with a baseline), BENCH_REFUNDS=0 leaves refunds out,
 *                                BENCH_STATEMENTS=1 lists the statements per ticket by their SQL's start
 *
 * With BENCH_BASELINE_DIR (a checkout of the code to compare with, node_modules linked in), the
 * same measurement runs in child processes, baseline and this checkout in turns: this file and support.ts
 * are copied into the baseline's bench/ so both sides measure alike, and one table prints both
 * figures and their ratio.
 */
import { execFileSync } from "node:child_process";
import { randomUUID } from "node:crypto";
import { copyFileSync } from "node:fs";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { startTestSystem, type TestSystem } from "../test/support/system.ts";
import { countStatements, cpuSpent, machine, report, round, sampleCpu, sleep, verdict } from "./support.ts";

const tickets = Number(process.env.BENCH_TICKETS ?? 2000);
const batch = Number(process.env.BENCH_BATCH ?? 100);
const services = process.env.BENCH_SERVICES ?? "api,tickets,refunds,datalake,ops";
const rounds = Number(process.env.BENCH_ROUNDS ?? 2);
const withRefunds = process.env.BENCH_REFUNDS !== "0";
const RESULT_LINE = "BENCH_FULFILMENT_RESULT ";
const TARGET_CPU_MS_PER_TICKET = 4;

async function waitFor(what: string, done: () => Promise<boolean> | boolean): Promise<void> {
  const deadline = Date.now() + 10 * 60_000;
  while (!(await done())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await sleep(200);
  }
}

const lakeCount = async (sys: TestSystem, name: string) =>
  Number((await sys.node.runtime.db("events").where({ event_name: name }).count({ n: "*" }))[0]!.n);

type Figures = Record<string, string | number>;

async function measure(): Promise<Measured> {
  const sys = await startTestSystem({ env: { SERVICES: services, LOG_LEVEL: "warn" } });
  try {
    const { db } = sys.node.runtime;
    const database = new URL(sys.config.POSTGRES_URL).pathname.slice(1);
    const ids = Array.from({ length: tickets }, () => randomUUID());
    const servers = { natsUrl: sys.config.NATS_URL, redisUrl: sys.config.REDIS_URL };
    const statements = countStatements([db, sys.node.runtime.handlerDb]);
    const cpuBefore = await sampleCpu(db, database, servers);
    const started = performance.now();
    for (let i = 0; i < ids.length; i += batch) {
      const body = {
        tickets: ids.slice(i, i + batch).map((ticket_id) => ({
          ticket_id,
          status: "confirmed",
          price: { amount: "10.00", currency: "EUR" },
          customer_email: "bench@example.com",
        })),
      };
      const response = await sys.http("POST", "/api/tickets-status", body, { "Idempotency-Key": randomUUID() });
      if (response.status !== 200) throw new Error(`tickets-status answered ${response.status}`);
    }
    const posted = performance.now();
    const { state } = sys.sim;
    await waitFor(
      "fulfilment",
      async () =>
        state.receipts.size === tickets &&
        state.files.size === tickets &&
        (state.sheets.get("tickets-to-print")?.length ?? 0) >= tickets &&
        (await lakeCount(sys, "TicketPrinted_v1")) === tickets &&
        (await lakeCount(sys, "TicketReceiptIssued_v1")) === tickets,
    );
    const fulfilled = performance.now();
    const cpu = cpuSpent(cpuBefore, await sampleCpu(db, database, servers));
    statements.stop();
    const statementsPerTicket = round(statements.total / tickets, 1);
    if (process.env.BENCH_STATEMENTS)
      for (const [shape, n] of [...statements.byShape].sort((a, b) => b[1] - a[1])) console.log(round(n / tickets, 2), shape);
    const total = cpu.node + cpu.postgres + cpu.nats + cpu.redis;
    const perTicket = (ms: number) => round(ms / tickets, 2);

    for (const id of withRefunds ? ids : []) {
      const response = await sys.http("PUT", `/api/ticket-refund/${id}`);
      if (response.status !== 202) throw new Error(`ticket-refund answered ${response.status}`);
    }
    const refundsAccepted = performance.now();
    await waitFor(
      "refunds",
      async () =>
        !withRefunds ||
        (state.voids.size === tickets && state.refunds.size === tickets && (await lakeCount(sys, "TicketRefunded_v1")) === tickets),
    );
    const refunded = performance.now();
    await sleep(1000);

    const seconds = (ms: number) => ms / 1000;
    const figures: Figures = {
      "CPU per ticket, fulfilment, end to end (ms)": perTicket(total),
      "  node process / postgres / nats-server / redis-server (ms)": [cpu.node, cpu.postgres, cpu.nats, cpu.redis]
        .map(perTicket)
        .join(" / "),
      "  SQL statements per ticket (API and handler pools; the relay's own connections not counted)": statementsPerTicket,
      "confirmations posted (ms)": round(posted - started),
      "all fulfilled after first POST (ms)": round(fulfilled - started),
      "fulfilment rate (tickets/s)": round(tickets / seconds(fulfilled - started)),
      "refund PUTs, sequential (ms)": round(refundsAccepted - fulfilled),
      "refund PUT mean latency (ms)": round((refundsAccepted - fulfilled) / tickets, 2),
      "all refunded after first PUT (ms)": round(refunded - fulfilled),
      "receipts / files / rows / voids / refunds": [
        state.receipts.size,
        state.files.size,
        state.sheets.get("tickets-to-print")?.length,
        state.voids.size,
        state.refunds.size,
      ].join(" / "),
      "printed / receipted / refunded events": [
        await lakeCount(sys, "TicketPrinted_v1"),
        await lakeCount(sys, "TicketReceiptIssued_v1"),
        await lakeCount(sys, "TicketRefunded_v1"),
      ].join(" / "),
      "dead letters": Number((await db("dead_letters").count({ n: "*" }))[0]!.n),
    };
    return { figures, cpuPerTicket: total / tickets };
  } finally {
    await sys.stop();
  }
}

/** Runs this measurement in a child process from `checkout` and reads its figures back. */
interface Measured {
  figures: Figures;
  cpuPerTicket: number;
}

function measureIn(checkout: string): Measured {
  const here = dirname(fileURLToPath(import.meta.url));
  if (resolve(checkout) !== resolve(here, "..")) {
    for (const file of ["fulfilment.ts", "support.ts"]) copyFileSync(join(here, file), join(checkout, "bench", file));
  }
  const output = execFileSync(process.execPath, ["--import", "tsx", "bench/fulfilment.ts"], {
    cwd: checkout,
    env: { ...process.env, BENCH_BASELINE_DIR: "", BENCH_CHILD: "1" },
    encoding: "utf8",
    stdio: ["ignore", "pipe", "inherit"],
    maxBuffer: 64 * 2 ** 20,
  });
  const line = output.split("\n").find((l) => l.startsWith(RESULT_LINE));
  if (!line) throw new Error(`no result from the bench in ${checkout}:\n${output}`);
  return JSON.parse(line.slice(RESULT_LINE.length));
}

async function main(): Promise<void> {
  const title = `fulfilment and refunds, ${tickets} tickets, services ${services}, ${machine()}`;
  const baselineDir = process.env.BENCH_BASELINE_DIR;
  if (process.env.BENCH_CHILD) {
    console.log(RESULT_LINE + JSON.stringify(await measure()));
  } else if (!baselineDir) {
    const { figures, cpuPerTicket } = await measure();
    report(title, { ...figures, "CPU per ticket target": verdict(cpuPerTicket, TARGET_CPU_MS_PER_TICKET, false) });
  } else {
    // rounds alternate, baseline first, so both sides see the machine's load alike
    const here = resolve(dirname(fileURLToPath(import.meta.url)), "..");
    const runs = { before: [] as Measured[], after: [] as Measured[] };
    for (let i = 0; i < rounds; i++) {
      runs.before.push(measureIn(baselineDir));
      runs.after.push(measureIn(here));
    }
    const perRound = (side: Measured[]) => side.map((m) => round(m.cpuPerTicket, 2)).join(", ");
    const mean = (side: Measured[]) => side.reduce((sum, m) => sum + m.cpuPerTicket, 0) / side.length;
    const before = mean(runs.before);
    const after = mean(runs.after);
    const table: Figures = {};
    for (const [name, value] of Object.entries(runs.after.at(-1)!.figures)) table[name] = `${runs.before.at(-1)!.figures[name]} → ${value}`;
    report(`${title} — baseline ${baselineDir} → this checkout, ${rounds} alternating rounds (last round below)`, {
      ...table,
      "CPU per ticket by round, baseline (ms)": perRound(runs.before),
      "CPU per ticket by round, this (ms)": perRound(runs.after),
      "CPU per ticket, mean of rounds, baseline → this (ms)": `${round(before, 2)} → ${round(after, 2)}`,
      "CPU per ticket, this ÷ baseline": round(after / before, 2),
      "CPU per ticket target": verdict(after, TARGET_CPU_MS_PER_TICKET, false),
    });
  }
}

await main();
