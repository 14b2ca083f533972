import test from "ava";
import { randomUUID } from "node:crypto";
import { gzipSync } from "node:zlib";
import { effectCounts } from "../support/effects.ts";
import { eventually, quiet, settle, startTestSystem, type TestSystem } from "../support/system.ts";

let sys: TestSystem;
let showId: string;

test.before(async () => {
  sys = await startTestSystem({ env: { CONSUMER_RETRY_BUDGET_MS: "500" } });
  showId = (await sys.http("POST", "/api/shows", show())).body.show_id;
  await eventually(() => quiet(sys));
});
test.after.always(async () => {
  await sys?.stop();
});

const show = (overrides: Record<string, unknown> = {}) => ({
  dead_nation_id: randomUUID(),
  number_of_tickets: 10,
  start_time: "2027-03-01T19:30:00Z",
  title: "Bodies",
  venue: "Hall",
  ...overrides,
});
const booking = (overrides: Record<string, unknown> = {}) => ({
  show_id: showId,
  number_of_tickets: 1,
  customer_email: "a@b.c",
  ...overrides,
});
const confirmation = (overrides: Record<string, unknown> = {}) => ({
  tickets: [
    { ticket_id: randomUUID(), status: "confirmed", price: { amount: "10.00", currency: "EUR" }, customer_email: "a@b.c", ...overrides },
  ],
});

/** Sends raw bytes with the given headers; an Idempotency-Key is always present so tickets-status gets past it. */
async function send(path: string, body: string | Uint8Array<ArrayBuffer>, headers: Record<string, string>) {
  const response = await fetch(`${sys.url}${path}`, { method: "POST", body, headers: { "Idempotency-Key": randomUUID(), ...headers } });
  const text = await response.text();
  return { status: response.status, text, body: text ? JSON.parse(text) : undefined };
}

/** A refused request leaves nothing behind, also after the handlers had time to run. */
async function assertRefused(t: any, attempt: () => Promise<{ status: number; body: any }>, status: number, field?: string) {
  const before = await effectCounts(sys);
  const response = await attempt();
  t.is(response.status, status, JSON.stringify(response.body));
  t.is(typeof response.body?.error, "string");
  if (field)
    t.true(
      response.body.details?.some((d: { field: string }) => d.field === field),
      JSON.stringify(response.body),
    );
  await settle(300);
  await eventually(() => quiet(sys));
  t.deepEqual(await effectCounts(sys), before);
}

const routes = [
  ["/api/tickets-status", confirmation()],
  ["/api/shows", show()],
  ["/api/book-tickets", null],
] as const;

for (const contentType of ["text/plain", "application/x-www-form-urlencoded", "application/xml", "multipart/form-data; boundary=x"]) {
  test.serial(`a valid body sent as ${contentType} is 415 and changes nothing`, async (t) => {
    for (const [path, body] of routes) {
      await assertRefused(t, () => send(path, JSON.stringify(body ?? booking()), { "Content-Type": contentType }), 415);
    }
  });
}

test.serial("a +json content type is JSON", async (t) => {
  const response = await send("/api/shows", JSON.stringify(show()), { "Content-Type": "application/vnd.tickets+json; charset=utf-8" });
  t.is(response.status, 201);
});

for (const [label, raw] of [
  ["an empty body", ""],
  ["{}", "{}"],
  ["[]", "[]"],
  ['{"tickets": []}', '{"tickets":[]}'],
  ['{"tickets": {}}', '{"tickets":{}}'],
] as const) {
  test.serial(`${label} to POST /api/tickets-status is 400 naming the field, and changes nothing`, async (t) => {
    const field = raw === "[]" ? "(body)" : "tickets";
    await assertRefused(t, () => send("/api/tickets-status", raw, { "Content-Type": "application/json" }), 400, field);
  });
}

test.serial("a JSON array where an object is required is 400 for shows and book-tickets", async (t) => {
  await assertRefused(t, () => send("/api/shows", JSON.stringify([show()]), { "Content-Type": "application/json" }), 400, "(body)");
  await assertRefused(
    t,
    () => send("/api/book-tickets", JSON.stringify([booking()]), { "Content-Type": "application/json" }),
    400,
    "(body)",
  );
});

const unholdable = [
  ["NUL", "a\u0000b"],
  ["a control character", "a\u001bb"],
  ["DEL", "a\u007fb"],
  ["a lone surrogate", "a\ud800b"],
] as const;

for (const [label, text] of unholdable) {
  test.serial(`${label} in a show's title or venue, a booking's email or a confirmation's email is 400 and changes nothing`, async (t) => {
    const json = (value: unknown) => JSON.stringify(value);
    for (const [path, body, field] of [
      ["/api/shows", show({ title: text }), "title"],
      ["/api/shows", show({ venue: text }), "venue"],
      ["/api/book-tickets", booking({ customer_email: `x${text}@b.c` }), "customer_email"],
      ["/api/tickets-status", confirmation({ customer_email: `x${text}@b.c` }), "tickets.0.customer_email"],
    ] as const) {
      await assertRefused(t, () => send(path, json(body), { "Content-Type": "application/json" }), 400, field);
    }
    t.is(Number((await sys.node.runtime.db("dead_letters").count({ n: "*" }))[0]!.n), 0);
  });
}

test.serial("a valid emoji (a surrogate pair) is kept as it was sent", async (t) => {
  const response = await send("/api/shows", JSON.stringify(show({ title: "Rock 🎸" })), { "Content-Type": "application/json" });
  t.is(response.status, 201);
  t.is((await sys.http("GET", `/api/shows/${response.body.show_id}`)).body.title, "Rock 🎸");
});

for (const startTime of ["0000-01-01T00:00:00Z", "9999-12-31T23:59:59-23:59", "0001-01-01T00:00:00+01:00"]) {
  test.serial(`start_time ${startTime} (outside the years 0001-9999 in UTC) is 400 and changes nothing`, async (t) => {
    await assertRefused(
      t,
      () => send("/api/shows", JSON.stringify(show({ start_time: startTime })), { "Content-Type": "application/json" }),
      400,
      "start_time",
    );
  });
}

test.serial("start_time at the edges of the storable range is accepted and read back in UTC", async (t) => {
  for (const [sent, stored] of [
    ["0001-01-01T00:00:00Z", "0001-01-01T00:00:00.000Z"],
    ["9999-12-31T23:59:59Z", "9999-12-31T23:59:59.000Z"],
  ]) {
    const response = await send("/api/shows", JSON.stringify(show({ start_time: sent })), { "Content-Type": "application/json" });
    t.is(response.status, 201, sent);
    t.is((await sys.http("GET", `/api/shows/${response.body.show_id}`)).body.start_time, stored);
  }
});

test.serial("a receipt_issue_date outside the storable years is 400", async (t) => {
  const response = await sys.http("GET", "/api/ops/bookings?receipt_issue_date=0000-01-01");
  t.is(response.status, 400);
  t.is(response.body.details[0].field, "receipt_issue_date");
});

test.serial("a body nested 50 000 levels deep is 400 (depth limit), never a stack overflow", async (t) => {
  const deepArray = `{"title":${"[".repeat(50_000)}${"]".repeat(50_000)}}`;
  const deepObject = `${'{"a":'.repeat(20_000)}1${"}".repeat(20_000)}`;
  for (const raw of [deepArray, deepObject]) {
    await assertRefused(t, () => send("/api/shows", raw, { "Content-Type": "application/json" }), 400);
    await assertRefused(t, () => send("/api/tickets-status", raw, { "Content-Type": "application/json" }), 400);
  }
});

test.serial("a gzip-encoded body that is not gzip is 400; a real gzip body works", async (t) => {
  await assertRefused(
    t,
    () => send("/api/shows", "this is not gzip", { "Content-Type": "application/json", "Content-Encoding": "gzip" }),
    400,
  );
  const zipped = gzipSync(JSON.stringify(show()));
  await assertRefused(
    t,
    () => send("/api/shows", zipped.subarray(0, 20), { "Content-Type": "application/json", "Content-Encoding": "gzip" }),
    400,
  );
  const ok = await send("/api/shows", zipped, { "Content-Type": "application/json", "Content-Encoding": "gzip" });
  t.is(ok.status, 201);
});

test.serial("an oversize body is 413 with an error body", async (t) => {
  await assertRefused(
    t,
    () => send("/api/shows", JSON.stringify(show({ title: "x".repeat(300_000) })), { "Content-Type": "application/json" }),
    413,
  );
});

test.serial("control characters in the query string are refused like those in the body", async (t) => {
  const response = await sys.http("GET", "/api/ops/bookings?receipt_issue_date=2026-01-01%00");
  t.is(response.status, 400);
  await assertRefused(
    t,
    () => send("/api/shows?title=%00", JSON.stringify({ ...show(), title: undefined }), { "Content-Type": "application/json" }),
    400,
    "title",
  );
});
