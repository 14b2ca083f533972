// Two nodes pull from each fulfilment handler's durable consumer at once; tickets confirmed
// several times over, whose copies may land on either node, are still fulfilled once each.
import test from "ava";
import { randomUUID } from "node:crypto";
import { eventually, quiet, startTestSystem, type TestSystem } from "../support/system.ts";

let sys: TestSystem;
test.before(async () => {
  sys = await startTestSystem({ env: { SERVICES: "api,tickets,datalake" } });
  await sys.startNode({ SERVICES: "tickets" });
});
test.after.always(async () => {
  await sys?.stop();
});

const lakeCount = async (name: string) => Number((await sys.node.runtime.db("events").where({ event_name: name }).count({ n: "*" }))[0]!.n);

test("40 tickets, each confirmed under three Idempotency-Keys, on two nodes: 40 receipts, files, rows and events of each kind", async (t) => {
  const tickets = Array.from({ length: 40 }, () => ({
    ticket_id: randomUUID(),
    status: "confirmed",
    price: { amount: "15.00", currency: "EUR" },
    customer_email: "two-nodes@example.com",
  }));
  const responses = await Promise.all(
    [0, 1, 2].map(() => sys.http("POST", "/api/tickets-status", { tickets }, { "Idempotency-Key": randomUUID() })),
  );
  t.deepEqual(
    responses.map((r) => r.status),
    [200, 200, 200],
  );
  await eventually(async () => (await lakeCount("TicketPrinted_v1")) >= 40 && (await lakeCount("TicketReceiptIssued_v1")) >= 40);
  await eventually(() => quiet(sys));

  const ids = new Set<string>(tickets.map((ticket) => ticket.ticket_id));
  const { state } = sys.sim;
  t.is([...state.receipts.values()].filter((r) => ids.has(r.ticket_id)).length, 40);
  t.is([...state.files.keys()].filter((id) => ids.has(id.replace("-ticket.html", ""))).length, 40);
  const rows = (state.sheets.get("tickets-to-print") ?? []).filter((row) => ids.has(row[0]!));
  t.is(rows.length, 40);
  t.is(new Set(rows.map((row) => row[0])).size, 40);
  t.is(await lakeCount("TicketPrinted_v1"), 40);
  t.is(await lakeCount("TicketReceiptIssued_v1"), 40);
  t.is(Number((await sys.node.runtime.db("dead_letters").count({ n: "*" }))[0]!.n), 0);
});
