import test, { type ExecutionContext } from "ava";
import { createServer } from "node:http";
import type { AddressInfo } from "node:net";
import {
  createGatewayClient,
  ENDPOINT_POLICIES,
  type Endpoint,
  GatewayError,
  isPermanentStatus,
  type GatewayClient,
} from "../../adapters/gateway-client/index.ts";
import { startGatewaySimulator, type GatewaySimulator } from "../../adapters/simulator/index.ts";

async function setup(t: ExecutionContext, clientOpts: { timeoutMs?: number } = {}): Promise<{ sim: GatewaySimulator; gw: GatewayClient }> {
  const sim = await startGatewaySimulator({ port: 0 });
  t.teardown(() => sim.close());
  return { sim, gw: createGatewayClient({ baseUrl: `${sim.url}/`, ...clientOpts }) };
}

const cc = { correlationId: "corr-1" };

test("receipts.issue: 201 creates, 200 returns the same receipt for the same key", async (t) => {
  const { sim, gw } = await setup(t);
  const req = { ticket_id: "t-1", price: { amount: "50.30", currency: "GBP" }, idempotency_key: "key-1t-1" };

  const first = await gw.receipts.issue(req, cc);
  const second = await gw.receipts.issue(req, cc);

  t.regex(first.number, /^RCPT-\d{6}$/);
  t.false(Number.isNaN(Date.parse(first.issued_at)));
  t.deepEqual(second, first);
  t.deepEqual(
    sim.state.calls.map((c) => [c.method, c.path, c.status]),
    [
      ["PUT", "/receipts-api/receipts", 201],
      ["PUT", "/receipts-api/receipts", 200],
    ],
  );
  // wire format: money_ prefix, idempotency key in the body
  t.deepEqual(sim.state.calls[0]!.body, {
    ticket_id: "t-1",
    price: { money_amount: "50.30", money_currency: "GBP" },
    idempotency_key: "key-1t-1",
  });
  t.is(sim.state.calls[0]!.headers["content-type"], "application/json");
  t.is(sim.state.receipts.size, 1);

  const other = await gw.receipts.issue({ ...req, idempotency_key: "key-2t-1" }, cc);
  t.not(other.number, first.number);
});

test("receipts.void: 200, deduplicated by idempotent_id", async (t) => {
  const { sim, gw } = await setup(t);
  await gw.receipts.issue({ ticket_id: "t-2", price: { amount: "1.00", currency: "EUR" }, idempotency_key: "k" });
  const req = { ticket_id: "t-2", reason: "customer requested refund", idempotent_id: "refund-t-2" };

  await gw.receipts.void(req, cc);
  await gw.receipts.void(req, cc);

  t.deepEqual(
    sim.state.calls.slice(1).map((c) => c.status),
    [200, 200],
  );
  t.is(sim.state.voids.size, 1);
  t.like(sim.state.voids.get("refund-t-2"), { ticket_id: "t-2", reason: "customer requested refund" });
  t.like(sim.state.receipts.get("k"), { voided: true, void_reason: "customer requested refund" });
});

test("payments.refund: 201 new, 200 existing", async (t) => {
  const { sim, gw } = await setup(t);
  const req = { payment_reference: "t-3", reason: "customer requested refund", deduplication_id: "refund-t-3" };

  await gw.payments.refund(req, cc);
  await gw.payments.refund(req, cc);

  t.deepEqual(
    sim.state.calls.map((c) => [c.method, c.path, c.status]),
    [
      ["PUT", "/payments-api/refunds", 201],
      ["PUT", "/payments-api/refunds", 200],
    ],
  );
  t.deepEqual(sim.state.calls[0]!.body, req);
  t.is(sim.state.refunds.size, 1);
});

test("files.put: 201 → created, then 409 → already_exists (not an error)", async (t) => {
  const { sim, gw } = await setup(t);
  const html = "<html><body>Ticket ID: t-4, Price: 50.30 GBP</body></html>";

  t.is(await gw.files.put("t-4-ticket.html", html, cc), "created");
  t.is(await gw.files.put("t-4-ticket.html", "something else", cc), "already_exists");

  t.deepEqual(
    sim.state.calls.map((c) => [c.method, c.path, c.status]),
    [
      ["PUT", "/files-api/files/t-4-ticket.html/content", 201],
      ["PUT", "/files-api/files/t-4-ticket.html/content", 409],
    ],
  );
  t.is(sim.state.calls[0]!.headers["content-type"], "text/plain");
  t.is(sim.state.files.get("t-4-ticket.html"), html); // the first content stays
});

test("spreadsheets: appendRow (200, no dedupe) and rows read back", async (t) => {
  const { sim, gw } = await setup(t);
  const row = ["t-5", "email@example.com", "50.30", "GBP"];

  await gw.spreadsheets.appendRow("tickets-to-print", row, cc);
  await gw.spreadsheets.appendRow("tickets-to-print", row, cc);
  await gw.spreadsheets.appendRow("tickets-to-refund", ["t-6", "x@y.z", "100.00", "USD"], cc);

  t.deepEqual(await gw.spreadsheets.rows("tickets-to-print", cc), [row, row]);
  t.deepEqual(await gw.spreadsheets.rows("tickets-to-refund", cc), [["t-6", "x@y.z", "100.00", "USD"]]);
  t.deepEqual(await gw.spreadsheets.rows("never-written", cc), []);
  t.deepEqual(sim.state.calls[0]!.body, { columns: row });
  t.deepEqual(
    sim.state.calls.map((c) => c.status),
    [200, 200, 200, 200, 200, 200],
  );
});

test("deadNation.book: 200, every call recorded (duplicates included)", async (t) => {
  const { sim, gw } = await setup(t);
  const req = {
    booking_id: "5b0a4c1e-7a43-4c2e-9d51-3f8c0b5e2d11",
    event_id: "c1f8e7b2-0d3a-4f6e-8a9b-1c2d3e4f5a6b",
    number_of_tickets: 2,
    customer_address: "a@b.c",
  };

  await gw.deadNation.book(req, cc);
  await gw.deadNation.book(req, cc);

  t.deepEqual(
    sim.state.calls.map((c) => [c.method, c.path, c.status]),
    [
      ["POST", "/dead-nation-api/ticket/booking", 200],
      ["POST", "/dead-nation-api/ticket/booking", 200],
    ],
  );
  t.deepEqual(sim.state.calls[0]!.body, req);
  t.is(sim.state.deadNationBookings.length, 2);
});

test("an injected 500 → GatewayError, permanent false; the next call succeeds", async (t) => {
  const { sim, gw } = await setup(t);
  sim.failNext({ method: "PUT", path: "/payments-api/refunds" }, 1, 500);
  const req = { payment_reference: "t-7", reason: "r", deduplication_id: "refund-t-7" };

  const err = await t.throwsAsync(gw.payments.refund(req, cc), { instanceOf: GatewayError });
  t.like(err, { status: 500, method: "PUT", path: "/payments-api/refunds", permanent: false, kind: "http" });
  t.regex(err!.bodyExcerpt, /injected fault/);
  t.is(sim.state.refunds.size, 0);

  await gw.payments.refund(req, cc);
  t.is(sim.state.refunds.size, 1);
});

test("an injected 400 → GatewayError, permanent true", async (t) => {
  const { sim, gw } = await setup(t);
  sim.failNext({ path: /^\/receipts-api\// }, 1, 400);

  const err = await t.throwsAsync(
    gw.receipts.issue({ ticket_id: "t", price: { amount: "1", currency: "EUR" }, idempotency_key: "k" }, cc),
    { instanceOf: GatewayError },
  );
  t.like(err, { status: 400, permanent: true, path: "/receipts-api/receipts" });
});

test("only a malformed request is permanent: expired credentials, a 404 or 409 not yet settled, 408/429 and 5xx are retried", (t) => {
  for (const endpoint of Object.keys(ENDPOINT_POLICIES) as Endpoint[]) {
    for (const s of [400, 405, 413, 415, 422]) t.true(isPermanentStatus(endpoint, s), `${endpoint} ${s}`);
    for (const s of [401, 403, 404, 408, 409, 429, 500, 502, 503, 504, undefined])
      t.false(isPermanentStatus(endpoint, s), `${endpoint} ${s}`);
  }
});

test("an unexpected status (201 where only 200 is accepted) is an error", async (t) => {
  const { sim, gw } = await setup(t);
  sim.failNext({ path: "/spreadsheets-api/sheets/s/rows", method: "POST" }, 1, 201);
  const err = await t.throwsAsync(gw.spreadsheets.appendRow("s", ["a"], cc), { instanceOf: GatewayError });
  t.like(err, { status: 201, permanent: false });
});

test("a slow simulator → timeout GatewayError, permanent false", async (t) => {
  const { sim, gw } = await setup(t, { timeoutMs: 100 });
  sim.setLatency(1000);

  const started = Date.now();
  const err = await t.throwsAsync(
    gw.deadNation.book({ booking_id: "b", event_id: "e", number_of_tickets: 1, customer_address: "a@b.c" }, cc),
    { instanceOf: GatewayError },
  );
  t.like(err, { kind: "timeout", status: undefined, permanent: false, method: "POST" });
  t.true(Date.now() - started < 900);
});

test("a partner that sends its headers and then stalls the body → timeout GatewayError: the limit covers reading the answer", async (t) => {
  const server = createServer((_req, res) => {
    res.writeHead(200, { "Content-Type": "application/json" });
    res.write('{"receipt_number":');
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  t.teardown(() => new Promise<void>((resolve) => server.close(() => resolve())));
  server.on("connection", (socket) => t.teardown(() => socket.destroy()));
  const { port } = server.address() as AddressInfo;
  const gw = createGatewayClient({ baseUrl: `http://127.0.0.1:${port}/`, timeoutMs: 150 });

  const started = Date.now();
  const err = await t.throwsAsync(
    gw.receipts.issue({ ticket_id: "t-1", price: { amount: "1.00", currency: "EUR" }, idempotency_key: "k" }, cc),
    {
      instanceOf: GatewayError,
    },
  );
  t.like(err, { kind: "timeout", permanent: false });
  t.true(Date.now() - started < 5_000, "gave up at its limit, not at the socket's");
});

test("connection refused → network GatewayError, permanent false, known to have had no effect", async (t) => {
  const sim = await startGatewaySimulator({ port: 0 });
  const gw = createGatewayClient({ baseUrl: sim.url });
  await sim.close();

  const err = await t.throwsAsync(gw.spreadsheets.rows("s"), { instanceOf: GatewayError });
  t.like(err, { kind: "network", permanent: false, status: undefined, leftNoEffect: true, unanswered: false });
});

test("a partner that closes the connection after reading the request → network GatewayError, in doubt: it may have acted", async (t) => {
  const server = createServer((req) => req.socket.destroy());
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  t.teardown(() => new Promise<void>((resolve) => server.close(() => resolve())));
  const { port } = server.address() as AddressInfo;
  const gw = createGatewayClient({ baseUrl: `http://127.0.0.1:${port}/` });

  const err = await t.throwsAsync(gw.spreadsheets.appendRow("s", ["a"]), { instanceOf: GatewayError });
  t.like(err, { kind: "network", permanent: false, status: undefined, leftNoEffect: false, unanswered: true });
});

test("Correlation-ID and traceparent reach the gateway; a gen_ id is made up when absent", async (t) => {
  const { sim, gw } = await setup(t);
  const traceparent = "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01";

  await gw.spreadsheets.appendRow("s", ["a"], { correlationId: "corr-xyz", traceparent });
  await gw.spreadsheets.appendRow("s", ["b"]);

  const [withCtx, withoutCtx] = sim.state.calls;
  t.is(withCtx!.headers["correlation-id"], "corr-xyz");
  t.is(withCtx!.headers.traceparent, traceparent);
  t.regex(String(withoutCtx!.headers["correlation-id"]), /^gen_[2-9A-HJ-NP-Za-km-z]{22}$/);
  t.is(withoutCtx!.headers.traceparent, undefined);
  t.is(withCtx!.headers["idempotency-key"], undefined); // idempotency keys travel only in body fields
});

/** A partner that answers every call with `status` and `body`, whatever was asked. */
async function partnerAnswering(t: ExecutionContext, status: number, body: string): Promise<GatewayClient> {
  const server = createServer((_req, res) => res.writeHead(status, { "Content-Type": "application/json" }).end(body));
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  t.teardown(() => new Promise<void>((resolve) => server.close(() => resolve())));
  return createGatewayClient({ baseUrl: `http://127.0.0.1:${(server.address() as AddressInfo).port}` });
}

const receiptRequest = { ticket_id: "t-8", price: { amount: "1.00", currency: "EUR" }, idempotency_key: "k-8" };

test("a receipt answer the receipts contract refuses is a bad_response GatewayError naming the fields, retryable", async (t) => {
  const gw = await partnerAnswering(t, 201, JSON.stringify({ number: "", issued_at: "yesterday" }));

  const err = await t.throwsAsync(gw.receipts.issue(receiptRequest, cc), { instanceOf: GatewayError });
  t.like(err, { kind: "bad_response", status: 201, permanent: false, path: "/receipts-api/receipts" });
  t.regex(err!.message, /response does not match the partner's contract/);
  t.regex(err!.message, /number: must be a non-empty string/);
  t.regex(err!.message, /issued_at: must be an RFC 3339 time/);
});

test("a receipt answer with an offset time is read as the partner sent it", async (t) => {
  const gw = await partnerAnswering(t, 200, JSON.stringify({ number: "R-1", issued_at: "2026-12-01T20:15:00.123456789+01:00", extra: 1 }));
  t.deepEqual(await gw.receipts.issue(receiptRequest, cc), { number: "R-1", issued_at: "2026-12-01T20:15:00.123456789+01:00" });
});

test("spreadsheet rows that are not lists of strings, or an answer that is not JSON, are bad_response errors", async (t) => {
  const numbers = await partnerAnswering(t, 200, JSON.stringify({ rows: [["a", 1]] }));
  const rowsErr = await t.throwsAsync(numbers.spreadsheets.rows("s", cc), { instanceOf: GatewayError });
  t.like(rowsErr, { kind: "bad_response", status: 200, permanent: false });
  t.regex(rowsErr!.message, /rows\.0\.1: /);

  const html = await partnerAnswering(t, 200, "<html>oops</html>");
  const htmlErr = await t.throwsAsync(html.spreadsheets.rows("s", cc), { instanceOf: GatewayError });
  t.like(htmlErr, { kind: "bad_response", permanent: false });
  t.regex(htmlErr!.message, /response is not JSON: <html>oops<\/html>/);
});
