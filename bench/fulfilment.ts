/**
 * Ticket fulfilment throughput on one node: confirmations posted in batches, timed until every
 * ticket has its receipt, file and tracker row at the gateway simulator and its two follow-up
 * events in the data lake; then the exactly-once counts are checked. Beside it: refunds of the
 * same tickets, timed until every TicketRefunded_v1 is in the data lake.
 *
 *   npm run bench:fulfilment     BENCH_TICKETS (default 2000), BENCH_BATCH (default 100)
 */
import { randomUUID } from "node:crypto";
import { startTestSystem, type TestSystem } from "../test/support/system.ts";
import { machine, report, round, sleep } from "./support.ts";

const tickets = Number(process.env.BENCH_TICKETS ?? 2000);
const batch = Number(process.env.BENCH_BATCH ?? 100);

async function waitFor(what: string, done: () => Promise<boolean> | boolean): Promise<void> {
  const deadline = Date.now() + 10 * 60_000;
  while (!(await done())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await sleep(50);
  }
}

const lakeCount = async (sys: TestSystem, name: string) =>
  Number((await sys.node.runtime.db("events").where({ event_name: name }).count({ n: "*" }))[0]!.n);

async function main(): Promise<void> {
  const sys = await startTestSystem({ env: { SERVICES: "api,tickets,refunds,datalake", LOG_LEVEL: "warn" } });
  try {
    const ids = Array.from({ length: tickets }, () => randomUUID());
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

    for (const id of ids) {
      const response = await sys.http("PUT", `/api/ticket-refund/${id}`);
      if (response.status !== 202) throw new Error(`ticket-refund answered ${response.status}`);
    }
    const refundsAccepted = performance.now();
    await waitFor(
      "refunds",
      async () => state.voids.size === tickets && state.refunds.size === tickets && (await lakeCount(sys, "TicketRefunded_v1")) === tickets,
    );
    const refunded = performance.now();
    await sleep(1000);

    const seconds = (ms: number) => ms / 1000;
    report(`fulfilment and refunds, ${tickets} tickets, ${machine()}`, {
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
      "dead letters": Number((await sys.node.runtime.db("dead_letters").count({ n: "*" }))[0]!.n),
    });
  } finally {
    await sys.stop();
  }
}

await main();
