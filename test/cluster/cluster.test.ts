// Three node processes (bin/start.ts) with different SERVICES: a gateway node with the HTTP api and
// two workers with every business service. Bookings go through the gateway node; Dead Nation (the
// simulator) confirms them by calling the gateway back, and the confirmations' fulfilment (receipt,
// ticket file, sheet row) runs on the workers. Both workers take part; then one is SIGKILLed in
// the middle of the traffic and everything still completes exactly once while HTTP keeps answering.
import test from "ava";
import { randomUUID } from "node:crypto";
import type { ConsumerStatus } from "../../lib/inspection/consumer-status.ts";
import type { HandlerCount } from "../../lib/inspection/handler-counts.ts";
import { eventually, httpRequest, settle } from "../support/system.ts";
import { startLocalCluster, type LocalCluster } from "./local-cluster.ts";

const workerServices = ["tickets", "shows", "bookings", "ops", "datalake", "refunds", "admin"];
const ticketsPerBooking = 2;
let cluster: LocalCluster;
let showId: string;
/** Every HTTP answer the test got, to prove none failed. */
const answers: { what: string; status: number }[] = [];

test.before(async () => {
  cluster = await startLocalCluster();
  await cluster.startNode("gateway", ["api-gateway"]);
  await Promise.all([cluster.startNode("worker-1", workerServices), cluster.startNode("worker-2", workerServices)]);
  await eventually(async () => (await http("GET", "/api/shows")).status === 200);
  const show = await http("POST", "/api/shows", {
    dead_nation_id: randomUUID(),
    number_of_tickets: 500,
    start_time: "2026-12-31T22:00:00Z",
    title: "Cluster night",
    venue: "Hall",
  });
  if (show.status !== 201) throw new Error(`creating the show answered ${show.status}`);
  showId = show.body.show_id;
});
test.afterEach.always((t) => {
  if (!t.passed) t.log(cluster?.output.slice(-80).join("\n"));
});
test.after.always(async () => {
  await cluster?.stop();
});

async function http(method: string, path: string, body?: unknown) {
  const response = await httpRequest(cluster.url, method, path, body, body === undefined ? {} : { "Idempotency-Key": randomUUID() });
  answers.push({ what: `${method} ${path}`, status: response.status });
  return response;
}

async function book(): Promise<string> {
  const response = await http("POST", "/api/book-tickets", {
    show_id: showId,
    number_of_tickets: ticketsPerBooking,
    customer_email: "cluster@example.com",
  });
  if (response.status !== 201) throw new Error(`book-tickets answered ${response.status}: ${JSON.stringify(response.body)}`);
  return response.body.booking_id;
}

const db = () => cluster.observer.runtime.db;

/** Ticket ids the confirmations of one booking carried, from the data lake. */
async function ticketsOf(bookingId: string): Promise<string[]> {
  const rows = await db()("events")
    .where({ event_name: "TicketBookingConfirmed_v1" })
    .where("event_payload", "@>", JSON.stringify({ booking_id: bookingId }));
  return rows.map((row) => row.event_payload.ticket_id);
}

async function lakeCount(name: string, ticketId: string): Promise<number> {
  return Number(
    (
      await db()("events")
        .where({ event_name: name })
        .where("event_payload", "@>", JSON.stringify({ ticket_id: ticketId }))
        .count({ n: "*" })
    )[0]!.n,
  );
}

/** A ticket's effects at the gateway and its follow-up events, counted. */
async function ticketEffects(ticketId: string) {
  const { state } = cluster.sim;
  return {
    receipts: [...state.receipts.values()].filter((r) => r.ticket_id === ticketId).length,
    files: [...state.files.keys()].filter((id) => id.startsWith(ticketId)).length,
    sheetRows: (state.sheets.get("tickets-to-print") ?? []).filter((row) => row[0] === ticketId).length,
    printedEvents: await lakeCount("TicketPrinted_v1", ticketId),
    receiptEvents: await lakeCount("TicketReceiptIssued_v1", ticketId),
  };
}

/** Every effect of a booking at the gateway, counted: one Dead Nation booking, one receipt, file and sheet row per ticket. */
async function effectsOf(bookingId: string) {
  const tickets = await ticketsOf(bookingId);
  return {
    deadNationBookings: cluster.sim.state.deadNationBookings.filter((b) => b.booking_id === bookingId).length,
    tickets: tickets.length,
    perTicket: await Promise.all(tickets.map(ticketEffects)),
  };
}
const once = { receipts: 1, files: 1, sheetRows: 1, printedEvents: 1, receiptEvents: 1 };
const complete = async (bookingId: string) => {
  const effects = await effectsOf(bookingId);
  return (
    effects.tickets === ticketsPerBooking &&
    effects.perTicket.every((t) => t.receipts > 0 && t.files > 0 && t.sheetRows > 0 && t.printedEvents > 0 && t.receiptEvents > 0)
  );
};

/** True when the Dead Nation handler committed its inbox marker for every one of these bookings. */
async function deadNationCommitted(bookingIds: string[]): Promise<boolean> {
  const markers = await db()("processed_messages")
    .where({ handler: "bookings-BookPlaceInDeadNation" })
    .whereIn("key", bookingIds)
    .count({ n: "*" });
  return Number(markers[0]!.n) === bookingIds.length;
}

/** No message waiting or in flight on any durable of the cluster. */
async function idle(): Promise<boolean> {
  const consumers = await cluster.observer.broker.call<ConsumerStatus[], object>(
    "admin.consumers",
    {},
    { nodeID: cluster.observer.broker.nodeID },
  );
  const pendingOutbox = await db()("outbox").whereNull("published_at").first("seq");
  return consumers.every((c) => c.pending === 0 && c.ackPending === 0) && pendingOutbox === undefined;
}

const processedOn = async (nodeID: string, handler: string) => {
  const { handlers } = await cluster.observer.broker.call<{ handlers: HandlerCount[] }, object>("admin.handlerCounts", {}, { nodeID });
  return handlers.filter((h) => h.handler === handler).reduce((sum, h) => sum + h.processed, 0);
};

test.serial("bookings through the gateway node are fulfilled by both workers, each effect exactly once", async (t) => {
  const bookings: string[] = [];
  for (let i = 0; i < 12; i++) bookings.push(await book());
  await eventually(async () => (await Promise.all(bookings.map(complete))).every(Boolean), { timeoutMs: 60_000 });
  await eventually(idle, { timeoutMs: 30_000 });
  await settle(500);

  for (const bookingId of bookings) {
    const effects = await effectsOf(bookingId);
    t.is(effects.deadNationBookings, 1, `Dead Nation bookings of ${bookingId}`);
    t.deepEqual(effects.perTicket, [once, once], `effects of ${bookingId}`);
  }
  for (const worker of ["worker-1", "worker-2"]) {
    const lake = await processedOn(worker, "StoreToDataLake");
    const receipts = await processedOn(worker, "IssueReceipt");
    t.log(`${worker}: StoreToDataLake ${lake}, IssueReceipt ${receipts}`);
    t.true(lake > 0, `${worker} stored events in the data lake`);
    t.true(receipts > 0, `${worker} issued receipts`);
  }
});

test.serial("a worker SIGKILLed mid-traffic: HTTP keeps answering, every booking completes, nothing is duplicated", async (t) => {
  const before = answers.length;
  const bookings: string[] = [];
  let reading = true;
  // Reads served by the workers' services, all through the kill.
  const reader = (async () => {
    while (reading) {
      await http("GET", "/api/shows");
      await settle(50);
    }
  })();
  const bookInParallel = async (count: number) => {
    const made = await Promise.all(Array.from({ length: count }, () => book()));
    bookings.push(...made);
  };
  await bookInParallel(4);
  await bookInParallel(4);
  // A Dead Nation call has no idempotency key: a node killed after the call but before its inbox
  // marker commits leaves a booking that is made again on redelivery (ARCHITECTURE.md's documented
  // window; the first version of this test, killing at an arbitrary moment, hit it once in 24
  // bookings). So the kill waits for those markers and lands while the confirmations' fulfilment,
  // the relay and new HTTP calls are in flight.
  await eventually(() => deadNationCommitted(bookings), { intervalMs: 10 });
  const inFlight = await cluster.observer.broker.call<ConsumerStatus[], object>(
    "admin.consumers",
    {},
    { nodeID: cluster.observer.broker.nodeID },
  );
  const unfinished = (await Promise.all(bookings.map(complete))).filter((done) => !done).length;
  const killed = cluster.processes.get("worker-1")!.kill();
  t.log(
    `at the kill: ${unfinished} of ${bookings.length} bookings not yet fulfilled, ${inFlight.reduce((n, c) => n + c.pending + c.ackPending, 0)} messages pending or in flight`,
  );
  await bookInParallel(4);
  t.is(await killed, "SIGKILL");
  for (let i = 0; i < 3; i++) await bookInParallel(4);
  reading = false;
  await reader;

  await eventually(async () => (await Promise.all(bookings.map(complete))).every(Boolean), { timeoutMs: 90_000 });
  await eventually(idle, { timeoutMs: 30_000 });
  await settle(1000);

  const failed = answers.slice(before).filter((a) => a.status >= 300);
  t.deepEqual(failed, [], "every HTTP call during and after the kill answered 2xx");
  t.true(answers.length - before > bookings.length, "reads kept going through the kill");
  t.is(bookings.length, 24);
  for (const bookingId of bookings) {
    const effects = await effectsOf(bookingId);
    t.is(effects.deadNationBookings, 1, `Dead Nation bookings of ${bookingId}`);
    t.deepEqual(effects.perTicket, [once, once], `effects of ${bookingId}`);
  }
  const deadLetters = await db()("dead_letters").select("handler", "error");
  t.deepEqual(deadLetters, []);
  await eventually(() => !cluster.nodesRunning("tickets").includes("worker-1"), { timeoutMs: 20_000 });
  t.deepEqual(cluster.nodesRunning("tickets"), ["worker-2"]);
});

test.serial("SIGTERM lets a worker finish its in-flight messages and exit 0; a second signal forces it out", async (t) => {
  t.is(await cluster.processes.get("worker-2")!.stop(), 0, "an idle worker stops cleanly");
  // Slow gateway calls keep a handler in flight long enough to signal the node in the middle of it.
  const slowGateway = { GATEWAY_TIMEOUT_MS: "3500", CONSUMER_ACK_WAIT_MS: "4000", LOG_LEVEL: "info" };
  const confirm = async () => {
    const ticketId = randomUUID();
    const response = await http("POST", "/api/tickets-status", {
      tickets: [
        { ticket_id: ticketId, status: "confirmed", price: { amount: "12.00", currency: "EUR" }, customer_email: "sigterm@example.com" },
      ],
    });
    if (response.status !== 200) throw new Error(`tickets-status answered ${response.status}`);
    return ticketId;
  };
  const receiptInFlight = async () => {
    const consumers = await cluster.observer.broker.call<ConsumerStatus[], object>(
      "admin.consumers",
      {},
      { nodeID: cluster.observer.broker.nodeID },
    );
    return consumers.some((c) => c.durable === "tickets-IssueReceipt" && c.ackPending > 0);
  };
  const receiptCalls = (ticketId: string) =>
    cluster.sim.state.calls.filter(
      (call) => call.path === "/receipts-api/receipts" && (call.body as { ticket_id?: string })?.ticket_id === ticketId,
    ).length;

  const graceful = await cluster.startNode("worker-3", workerServices, slowGateway);
  cluster.sim.setLatency(1500);
  const finished = await confirm();
  await eventually(receiptInFlight, { intervalMs: 20 });
  t.is(await graceful.stop(), 0);
  t.is(receiptCalls(finished), 1, "the receipt call in flight at SIGTERM completed");
  t.is((await ticketEffects(finished)).receipts, 1);

  const forced = await cluster.startNode("worker-4", workerServices, slowGateway);
  cluster.sim.setLatency(3000);
  const interrupted = await confirm();
  await eventually(receiptInFlight, { intervalMs: 20 });
  const linesBefore = cluster.output.length;
  forced.child.kill("SIGTERM");
  await eventually(
    () => cluster.output.slice(linesBefore).some((line) => line.startsWith("worker-4 |") && line.includes("shutting down")),
    { intervalMs: 10 },
  );
  forced.child.kill("SIGTERM");
  t.is(await forced.exited, 130, "the second signal exits at once, in-flight work abandoned");

  cluster.sim.setLatency(0);
  // Same settings as the node it replaces, as in a real rollout: a node with a shorter ack wait
  // would shorten the durable's, and the abandoned message could come back before the gateway
  // applies the call the killed node left in flight, so the sheet read-back would miss its row.
  await cluster.startNode("worker-5", workerServices, slowGateway);
  for (const ticketId of [finished, interrupted]) {
    await eventually(async () => Object.values(await ticketEffects(ticketId)).every((n) => n > 0), { timeoutMs: 30_000 });
  }
  await eventually(idle, { timeoutMs: 30_000 });
  await settle(500);
  for (const ticketId of [finished, interrupted]) t.deepEqual(await ticketEffects(ticketId), once, `effects of ${ticketId}`);
});
