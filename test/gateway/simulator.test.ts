import test, { type ExecutionContext } from "ava";
import { createServer, type IncomingHttpHeaders } from "node:http";
import type { AddressInfo } from "node:net";
import moleculer from "moleculer";
import { startGatewaySimulator, type GatewaySimulatorOptions } from "../../adapters/simulator/index.ts";
import GatewaySimulatorService from "../../services/gateway-simulator.service.ts";
import { httpRequest } from "../support/system.ts";

const { ServiceBroker } = moleculer;

async function sim(t: ExecutionContext, opts: GatewaySimulatorOptions = {}) {
  const s = await startGatewaySimulator({ port: 0, ...opts });
  t.teardown(() => s.close());
  return s;
}

const req = (base: string, method: string, path: string, body?: unknown, contentType = "application/json") =>
  httpRequest(base, method, path, body, body === undefined ? {} : { "Content-Type": contentType });

interface Received {
  path: string;
  headers: IncomingHttpHeaders;
  body: any;
}

/** A tiny stand-in for the app's POST /api/tickets-status; `statuses` are answered in turn, then 200. */
async function callbackServer(t: ExecutionContext, statuses: number[] = []) {
  const received: Received[] = [];
  let notify: () => void = () => {};
  const server = createServer((rq, rs) => {
    let raw = "";
    rq.on("data", (c) => (raw += c));
    rq.on("end", () => {
      received.push({ path: rq.url ?? "", headers: rq.headers, body: JSON.parse(raw) });
      rs.writeHead(statuses.shift() ?? 200).end();
      notify();
    });
  });
  await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
  t.teardown(
    () =>
      new Promise<void>((r) => {
        server.closeAllConnections();
        server.close(() => r());
      }),
  );
  const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  const waitFor = (n: number) =>
    new Promise<void>((resolve) => {
      notify = () => received.length >= n && resolve();
      notify();
    });
  return { url, received, waitFor };
}

const booking = {
  booking_id: "5b0a4c1e-7a43-4c2e-9d51-3f8c0b5e2d11",
  event_id: "c1f8e7b2-0d3a-4f6e-8a9b-1c2d3e4f5a6b",
  number_of_tickets: 3,
  customer_address: "fan@example.com",
};

test("receipts: 201 with the full receipt, 200 with the same one for a known key", async (t) => {
  const s = await sim(t);
  const body = { ticket_id: "t1", price: { money_amount: "50.30", money_currency: "GBP" }, idempotency_key: "k1" };
  const a = await req(s.url, "PUT", "/receipts-api/receipts", body);
  const b = await req(s.url, "PUT", "/receipts-api/receipts", { ...body, ticket_id: "ignored" });
  t.is(a.status, 201);
  t.is(b.status, 200);
  t.like(a.body, { number: "RCPT-000001", ...body });
  t.deepEqual(b.body, a.body);
  t.true(new Date(a.body.issued_at).toISOString() === a.body.issued_at);
});

test("validation: bad JSON and missing fields are 400 {error}", async (t) => {
  const s = await sim(t);
  const cases: [string, string, unknown][] = [
    ["PUT", "/receipts-api/receipts", "{not json"],
    ["PUT", "/receipts-api/receipts", { ticket_id: "t", idempotency_key: "k" }],
    ["PUT", "/receipts-api/receipts", { ticket_id: "t", price: { money_amount: "1" }, idempotency_key: "k" }],
    ["PUT", "/receipts-api/void-receipt", { ticket_id: "t", reason: "r" }],
    ["PUT", "/payments-api/refunds", { payment_reference: "t", reason: "r" }],
    ["POST", "/dead-nation-api/ticket/booking", { ...booking, number_of_tickets: 0 }],
    ["POST", "/dead-nation-api/ticket/booking", { ...booking, booking_id: undefined }],
    ["POST", "/spreadsheets-api/sheets/s/rows", { columns: [1, 2] }],
    ["POST", "/spreadsheets-api/sheets/s/rows", []],
  ];
  for (const [method, path, body] of cases) {
    const r = await req(s.url, method, path, body);
    t.is(r.status, 400, `${method} ${path} ${JSON.stringify(body)}`);
    t.is(typeof r.body?.error, "string");
  }
  t.is(s.state.receipts.size + s.state.voids.size + s.state.refunds.size + s.state.deadNationBookings.length, 0);
  t.is((await req(s.url, "GET", "/nope")).status, 404);
});

test("files: PUT 201 then 409, GET content, 404 for an unknown id", async (t) => {
  const s = await sim(t);
  t.is((await req(s.url, "PUT", "/files-api/files/f1/content", "<html>1</html>", "text/plain")).status, 201);
  t.is((await req(s.url, "PUT", "/files-api/files/f1/content", "<html>2</html>", "text/plain")).status, 409);
  const got = await req(s.url, "GET", "/files-api/files/f1/content");
  t.is(got.status, 200);
  t.is(got.text, "<html>1</html>");
  t.is((await req(s.url, "GET", "/files-api/files/none/content")).status, 404);
});

test("read-back endpoints and summary show the state; /_simulator calls are not recorded", async (t) => {
  const s = await sim(t);
  await req(s.url, "PUT", "/receipts-api/receipts", {
    ticket_id: "t",
    price: { money_amount: "1", money_currency: "EUR" },
    idempotency_key: "k",
  });
  await req(s.url, "PUT", "/receipts-api/void-receipt", { ticket_id: "t", reason: "r", idempotent_id: "refund-t" });
  await req(s.url, "PUT", "/payments-api/refunds", { payment_reference: "t", reason: "r", deduplication_id: "refund-t" });
  await req(s.url, "PUT", "/files-api/files/f/content", "hello", "text/plain");
  await req(s.url, "POST", "/spreadsheets-api/sheets/tickets-to-print/rows", { columns: ["a", "b"] });
  await req(s.url, "POST", "/dead-nation-api/ticket/booking", booking);

  t.like((await req(s.url, "GET", "/_simulator/receipts")).body.receipts[0], { ticket_id: "t", voided: true });
  t.like((await req(s.url, "GET", "/_simulator/voids")).body.voids[0], { idempotent_id: "refund-t" });
  t.like((await req(s.url, "GET", "/_simulator/refunds")).body.refunds[0], { deduplication_id: "refund-t" });
  t.deepEqual((await req(s.url, "GET", "/_simulator/files")).body.files, [{ id: "f", content: "hello" }]);
  t.deepEqual((await req(s.url, "GET", "/_simulator/sheets")).body.sheets, { "tickets-to-print": [["a", "b"]] });
  t.like((await req(s.url, "GET", "/_simulator/dead-nation/bookings")).body.bookings[0], booking);
  const summary = (await req(s.url, "GET", "/_simulator")).body;
  t.like(summary.counts, { receipts: 1, voids: 1, refunds: 1, files: 1, dead_nation_bookings: 1, calls: 6 });
  t.is(s.state.calls.length, 6);
  t.is((await req(s.url, "GET", "/_simulator/calls")).body.calls.length, 6);
});

test("faults over HTTP: the next N matching calls fail, then it recovers; reset clears everything", async (t) => {
  const s = await sim(t);
  const f = await req(s.url, "POST", "/_simulator/faults", {
    method: "POST",
    path: "/spreadsheets-api/sheets/s/rows",
    times: 2,
    status: 503,
  });
  t.is(f.status, 201);
  t.is((await req(s.url, "POST", "/_simulator/faults", { path: "/x", times: 0 })).status, 400);

  const rows = { columns: ["a"] };
  t.is((await req(s.url, "GET", "/spreadsheets-api/sheets/s/rows")).status, 200); // method does not match
  t.is((await req(s.url, "POST", "/spreadsheets-api/sheets/s/rows", rows)).status, 503);
  t.is((await req(s.url, "POST", "/spreadsheets-api/sheets/s/rows", rows)).status, 503);
  t.is((await req(s.url, "POST", "/spreadsheets-api/sheets/s/rows", rows)).status, 200);
  t.deepEqual(s.state.sheets.get("s"), [["a"]]); // failed calls had no effect

  await req(s.url, "POST", "/_simulator/faults", { path: "^/files-api/", regex: true, status: 500 });
  t.is((await req(s.url, "PUT", "/files-api/files/x/content", "c", "text/plain")).status, 500);

  t.is((await req(s.url, "POST", "/_simulator/reset")).status, 200);
  t.is(s.state.sheets.size, 0);
  t.is(s.state.calls.length, 0);
});

test("afterEffect fault: the effect happens but the answer is lost; the retry gets 200 and the same receipt", async (t) => {
  const s = await sim(t);
  s.failNext({ path: "/receipts-api/receipts" }, 1, 502, { afterEffect: true });
  const body = { ticket_id: "t", price: { money_amount: "1", money_currency: "EUR" }, idempotency_key: "k" };
  t.is((await req(s.url, "PUT", "/receipts-api/receipts", body)).status, 502);
  t.is(s.state.receipts.size, 1);
  const retry = await req(s.url, "PUT", "/receipts-api/receipts", body);
  t.is(retry.status, 200);
  t.is(retry.body.number, "RCPT-000001");
});

test("Dead Nation: answers {booking_id} then confirms every ticket at {callbackBaseUrl}/api/tickets-status", async (t) => {
  const app = await callbackServer(t);
  const s = await sim(t, { callbackBaseUrl: `${app.url}/` });

  const res = await fetch(`${s.url}/dead-nation-api/ticket/booking`, {
    method: "POST",
    headers: { "Content-Type": "application/json", "Correlation-ID": "corr-dn" },
    body: JSON.stringify(booking),
  });
  t.is(res.status, 200);
  t.deepEqual(await res.json(), { booking_id: booking.booking_id });

  await app.waitFor(1);
  const [cb] = app.received;
  t.is(cb!.path, "/api/tickets-status");
  t.is(cb!.headers["idempotency-key"], `dead-nation-${booking.booking_id}-1`);
  t.is(cb!.headers["content-type"], "application/json");
  t.is(cb!.headers["correlation-id"], "corr-dn");
  const tickets = cb!.body.tickets as any[];
  t.is(tickets.length, 3);
  for (const ticket of tickets) {
    t.regex(ticket.ticket_id, /^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/);
    t.like(ticket, {
      booking_id: booking.booking_id,
      status: "confirmed",
      price: { amount: "50.00", currency: "EUR" },
      customer_email: booking.customer_address,
    });
  }
  t.is(new Set(tickets.map((x) => x.ticket_id)).size, 3);
  await s.settled();
  t.like(s.state.callbacks, [{ attempt: 1, ok: true, status: 200 }]);
});

test("Dead Nation callback: configurable price, retried after a 5xx", async (t) => {
  const app = await callbackServer(t, [503, 500]);
  const s = await sim(t, {
    callbackBaseUrl: app.url,
    callbackRetryDelaysMs: [10, 10, 10],
    ticketPrice: { amount: "12.50", currency: "PLN" },
  });
  t.is((await req(s.url, "POST", "/dead-nation-api/ticket/booking", { ...booking, number_of_tickets: 1 })).status, 200);

  await app.waitFor(3);
  await s.settled();
  t.deepEqual(
    s.state.callbacks.map((c) => [c.attempt, c.status, c.ok]),
    [
      [1, 503, false],
      [2, 500, false],
      [3, 200, true],
    ],
  );
  t.deepEqual(app.received[2]!.body.tickets[0].price, { amount: "12.50", currency: "PLN" });
  // the same payload (same ticket ids) on every attempt
  t.deepEqual(app.received[0]!.body, app.received[2]!.body);
});

test("Dead Nation callback: gives up after the retries when the app is unreachable, and logs it", async (t) => {
  const closed = createServer();
  await new Promise<void>((r) => closed.listen(0, "127.0.0.1", r));
  const deadUrl = `http://127.0.0.1:${(closed.address() as AddressInfo).port}`;
  await new Promise<void>((r) => closed.close(() => r()));

  const logs: string[] = [];
  const s = await sim(t, {
    callbackBaseUrl: deadUrl,
    callbackRetryDelaysMs: [5, 5],
    logger: { info: (_o, msg) => logs.push(msg ?? "") },
  });
  t.is((await req(s.url, "POST", "/dead-nation-api/ticket/booking", booking)).status, 200);
  await s.settled();
  t.is(s.state.callbacks.length, 3);
  t.true(s.state.callbacks.every((c) => !c.ok && c.error === "ECONNREFUSED"));
  t.true(logs.includes("dead nation callback failed, giving up"));
});

test("Dead Nation: no callback when autoConfirmDeadNation is false; no dedupe of bookings", async (t) => {
  const app = await callbackServer(t);
  const s = await sim(t, { callbackBaseUrl: app.url, autoConfirmDeadNation: false });
  await req(s.url, "POST", "/dead-nation-api/ticket/booking", booking);
  await req(s.url, "POST", "/dead-nation-api/ticket/booking", booking);
  await s.settled();
  await new Promise((r) => setTimeout(r, 50));
  t.is(app.received.length, 0);
  t.is(s.state.deadNationBookings.length, 2);
});

test("Dead Nation: a second call for the same booking is a second reservation, confirmed with other tickets under its own key", async (t) => {
  const app = await callbackServer(t);
  const s = await sim(t, { callbackBaseUrl: app.url });
  await req(s.url, "POST", "/dead-nation-api/ticket/booking", booking);
  await req(s.url, "POST", "/dead-nation-api/ticket/booking", booking);
  await app.waitFor(2);
  const keys = app.received.map((cb) => cb.headers["idempotency-key"]).sort();
  t.deepEqual(keys, [`dead-nation-${booking.booking_id}-1`, `dead-nation-${booking.booking_id}-2`]);
  const ticketIds = app.received.flatMap((cb) => (cb.body.tickets as { ticket_id: string }[]).map((ticket) => ticket.ticket_id));
  t.is(new Set(ticketIds).size, 2 * booking.number_of_tickets);
});

test("gateway-simulator Moleculer service starts the simulator and stops it", async (t) => {
  const broker = new ServiceBroker({ logger: false });
  const svc = broker.createService({ ...GatewaySimulatorService, settings: { port: 0 } });
  await broker.start();
  const url = (svc as unknown as { simulator: { url: string } }).simulator.url;
  try {
    const r = await req(url, "GET", "/_simulator");
    t.is(r.status, 200);
    t.is(r.body.url, url);
  } finally {
    await broker.stop();
  }
  await t.throwsAsync(fetch(`${url}/_simulator`));
});

test("validation: a 400 names every field the partner's contract refuses, and stores nothing", async (t) => {
  const s = await sim(t);
  const r = await req(s.url, "PUT", "/receipts-api/receipts", { ticket_id: "", price: { money_amount: "1" }, idempotency_key: "k" });
  t.is(r.status, 400);
  t.deepEqual(
    r.body.details.map((d: { field: string }) => d.field),
    ["ticket_id", "price.money_currency"],
  );
  t.regex(r.body.error, /ticket_id: must be a non-empty string/);
  const halfTicket = await req(s.url, "POST", "/dead-nation-api/ticket/booking", { ...booking, number_of_tickets: 1.5 });
  t.is(halfTicket.status, 400);
  t.like(halfTicket.body.details, [{ field: "number_of_tickets" }]);
  t.is(s.state.receipts.size + s.state.deadNationBookings.length, 0);
});

test("client mistakes on the simulator's own surface are 400, not 500: a bad fault regex, a bad %-escape", async (t) => {
  const s = await sim(t);
  const fault = await req(s.url, "POST", "/_simulator/faults", { path: "(", regex: true });
  t.is(fault.status, 400);
  t.regex(fault.body.error, /path is not a regular expression/);
  const file = await req(s.url, "PUT", "/files-api/files/%E0%A4%A/content", "x", "text/plain");
  t.is(file.status, 400);
  t.is(s.state.files.size, 0);
});
