// The receipts, files and spreadsheets partners go away under steady traffic and come back (a short
// outage on the test clock; the default budget rides out ten minutes, see retry-budget.test.ts).
// While they are down each partner's circuit opens, so they get a handful of trial calls instead of
// one per delivery; when they return the backlog drains: one receipt, file and row per ticket, and
// nothing dead-lettered.
import test from "ava";
import { randomUUID } from "node:crypto";
import { messagesFailed } from "../../lib/observability/metrics.ts";
import { filesFor, receiptsFor, rowsFor } from "../support/effects.ts";
import { eventually, quiet, startTestSystem, type TestSystem } from "../support/system.ts";

let sys: TestSystem;
test.before(async () => {
  sys = await startTestSystem({
    env: {
      SERVICES: "api,tickets",
      CONSUMER_RETRY_BUDGET_MS: "300000",
      GATEWAY_BREAKER_FAILURES: "3",
      GATEWAY_BREAKER_COOLDOWN_MS: "500",
      GATEWAY_BREAKER_MAX_COOLDOWN_MS: "2000",
    },
  });
});
test.after.always(async () => {
  await sys?.stop();
});

const DOWN = /^\/(receipts|files|spreadsheets)-api\//;
const EFFECTS = ["IssueReceipt", "PrintTicket", "AppendToTracker"];
const BATCHES = 4;
const PER_BATCH = 10;

async function failedDeliveries(): Promise<number> {
  const { values } = await messagesFailed.get();
  return values.filter((v) => EFFECTS.includes(String(v.labels.handler))).reduce((sum, v) => sum + v.value, 0);
}

async function confirm(count: number): Promise<string[]> {
  const tickets = Array.from({ length: count }, () => ({
    ticket_id: randomUUID(),
    status: "confirmed",
    price: { amount: "20.00", currency: "EUR" },
    customer_email: "outage@example.com",
  }));
  const response = await sys.http("POST", "/api/tickets-status", { tickets }, { "Idempotency-Key": randomUUID() });
  if (response.status !== 200) throw new Error(`tickets-status answered ${response.status}`);
  return tickets.map((ticket) => ticket.ticket_id);
}

test("partners down under steady traffic get a few trial calls, not one per delivery; back up, every ticket gets exactly one receipt, file and row", async (t) => {
  sys.sim.failNext({ path: DOWN }, 1_000_000, 503);
  const tickets: string[] = [];
  for (let batch = 1; batch <= BATCHES; batch++) {
    tickets.push(...(await confirm(PER_BATCH)));
    // traffic keeps coming while the earlier tickets keep failing
    await eventually(async () => (await failedDeliveries()) >= batch * PER_BATCH * EFFECTS.length);
  }
  // every effect of every ticket has failed three times over on average
  await eventually(async () => (await failedDeliveries()) >= 3 * tickets.length * EFFECTS.length, { timeoutMs: 60_000 });
  const callsWhileDown = sys.sim.state.calls.filter((call) => DOWN.test(call.path)).length;
  sys.sim.clearFaults();

  t.true(callsWhileDown < tickets.length, `${callsWhileDown} calls reached the partners while they were down`);
  await eventually(
    () =>
      tickets.every(
        (id) => receiptsFor(sys, id).length === 1 && filesFor(sys, id).length === 1 && rowsFor(sys, "tickets-to-print", id).length === 1,
      ),
    { timeoutMs: 60_000 },
  );
  await eventually(() => quiet(sys), { timeoutMs: 30_000 });
  for (const id of tickets) {
    t.is(receiptsFor(sys, id).length, 1);
    t.is(filesFor(sys, id).length, 1);
    t.is(rowsFor(sys, "tickets-to-print", id).length, 1);
  }
  t.deepEqual(await sys.node.runtime.db("dead_letters").select("handler"), []);
});
