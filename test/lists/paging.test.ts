import test from "ava";
import { randomUUID } from "node:crypto";
import { newHeader } from "../../contracts/common.ts";
import { applyToOpsReadModel } from "../../services/ops.read-model.ts";
import * as tickets from "../../services/tickets.repository.ts";
import { startTestSystem, type TestSystem } from "../support/system.ts";
import { allPages, nextPath } from "./paging.ts";

let sys: TestSystem;
test.before(async () => {
  sys = await startTestSystem({ env: { SERVICES: "api,tickets,shows,ops" } });
});
test.after.always(async () => {
  await sys?.stop();
});

const db = () => sys.node.runtime.db;
const price = { amount: "25.00", currency: "EUR" };

async function createShow(startTime: string, title = "Show"): Promise<string> {
  const show = await sys.http("POST", "/api/shows", {
    dead_nation_id: randomUUID(),
    number_of_tickets: 1000,
    start_time: startTime,
    title,
    venue: "Hall",
  });
  if (show.status !== 201) throw new Error(show.text);
  return show.body.show_id;
}

/** A booking as the bookings service stores it, and its ops document through the read model's own code. */
async function book(showId: string, email = "someone@example.com"): Promise<string> {
  const bookingId = randomUUID();
  await db()("bookings").insert({ booking_id: bookingId, show_id: showId, number_of_tickets: 1, customer_email: email });
  await db().transaction((trx) =>
    applyToOpsReadModel.bookingMade(trx, {
      header: newHeader(),
      booking_id: bookingId,
      show_id: showId,
      number_of_tickets: 1,
      customer_email: email,
    }),
  );
  return bookingId;
}

/** A ticket confirmed (StoreTicket's repository call and the ops read model's), optionally receipted on `receiptAt`. */
async function confirm(bookingId: string, email = "someone@example.com", receiptAt?: string): Promise<string> {
  const ticketId = randomUUID();
  await tickets.store(db(), { ticket_id: ticketId, booking_id: bookingId, customer_email: email, price });
  await db().transaction(async (trx) => {
    await applyToOpsReadModel.ticketConfirmed(trx, {
      header: newHeader(),
      booking_id: bookingId,
      ticket_id: ticketId,
      customer_email: email,
      price,
    });
    if (receiptAt)
      await applyToOpsReadModel.ticketReceiptIssued(trx, {
        header: newHeader(),
        ticket_id: ticketId,
        receipt_number: "R-1",
        issued_at: receiptAt,
      });
  });
  return ticketId;
}

const ids = (items: any[], key: string) => items.map((item) => item[key]);
const once = (list: string[]) => new Set(list).size === list.length;

test.serial("ticket pages cover each ticket exactly once, by confirmation time, while tickets arrive between page reads", async (t) => {
  const showId = await createShow("2030-01-01T20:00:00Z");
  const bookingId = await book(showId);
  const before: string[] = [];
  for (let i = 0; i < 23; i++) before.push(await confirm(bookingId));

  const arrived: string[] = [];
  const oldest = await allPages(sys, "/api/tickets?limit=5", async () => {
    arrived.push(await confirm(bookingId));
  });
  const seen = ids(oldest.items, "ticket_id");
  t.true(once(seen), "no ticket twice");
  t.deepEqual(seen.slice(0, before.length), before, "oldest confirmation first");
  t.deepEqual(seen.slice(before.length), arrived.slice(0, seen.length - before.length), "what arrived later comes after");
  t.true(oldest.pages.every((size) => size <= 5));

  const everything = [...before, ...arrived];
  const newest = await allPages(sys, "/api/tickets?limit=4&order=newest", async () => {
    await confirm(bookingId);
  });
  const newestSeen = ids(newest.items, "ticket_id");
  t.true(once(newestSeen));
  t.deepEqual(newestSeen, [...everything].reverse(), "newest first: every ticket there when paging began, once, nothing that came later");
});

test.serial("show pages cover each show once by start time while shows are created; upcoming leaves past shows out", async (t) => {
  const past = await createShow("2001-05-05T20:00:00Z", "Past");
  for (let i = 0; i < 6; i++) await createShow(`2031-0${(i % 9) + 1}-01T20:00:00Z`);
  const existing = ids((await allPages(sys, "/api/shows?limit=1000")).items, "show_id");

  const created: string[] = [];
  const paged = await allPages(sys, "/api/shows?limit=2", async () => {
    created.push(await createShow("2040-01-01T20:00:00Z"));
  });
  const seen = ids(paged.items, "show_id");
  t.true(once(seen));
  t.deepEqual(seen.slice(0, existing.length), existing, "each show there before, once, in the same order");
  const startTimes = paged.items.map((show) => Date.parse(show.start_time));
  t.deepEqual(
    startTimes,
    [...startTimes].sort((a, b) => a - b),
    "by start time",
  );

  const upcoming = await allPages(sys, "/api/shows?upcoming=true&limit=3");
  t.false(ids(upcoming.items, "show_id").includes(past));
  t.true(upcoming.items.every((show) => Date.parse(show.start_time) > Date.now()));
  t.true(ids((await sys.http("GET", "/api/shows")).body, "show_id").includes(past), "without the filter past shows are listed");
});

test.serial("ops booking pages cover each booking once, newest first, while bookings are made between page reads", async (t) => {
  const showId = await createShow("2032-01-01T20:00:00Z");
  const before: string[] = [];
  for (let i = 0; i < 17; i++) before.push(await book(showId));
  const listedBefore = ids((await sys.http("GET", "/api/ops/bookings")).body, "booking_id");

  const paged = await allPages(sys, "/api/ops/bookings?limit=4", async () => {
    await book(showId);
  });
  const seen = ids(paged.items, "booking_id");
  t.true(once(seen));
  t.deepEqual(seen, listedBefore, "every booking there when paging began, once, newest first; later ones are on a fresh first page");
  t.true(
    paged.items.every((booking) => typeof booking.show_id === "string"),
    "each booking names its show",
  );
});

/** `count` receipted tickets of one booking in its ops document, in one transaction. */
async function receiptedTickets(bookingId: string, count: number): Promise<void> {
  const customer_email = "a.rather.long.customer.address@example.com";
  await db().transaction(async (trx) => {
    for (let i = 0; i < count; i++) {
      const ticket_id = randomUUID();
      await applyToOpsReadModel.ticketConfirmed(trx, { header: newHeader(), booking_id: bookingId, ticket_id, customer_email, price });
      await applyToOpsReadModel.ticketReceiptIssued(trx, {
        header: newHeader(),
        ticket_id,
        receipt_number: "R-1",
        issued_at: "2026-11-26T10:00:00Z",
      });
    }
  });
}

test.serial("a page is cut by bytes: bookings of 100 tickets (~40 KB each) come in pages under what NATS carries", async (t) => {
  const showId = await createShow("2033-01-01T20:00:00Z", "Big bookings");
  const bigOnes: string[] = [];
  for (let b = 0; b < 30; b++) {
    const bookingId = await book(showId);
    bigOnes.push(bookingId);
    await receiptedTickets(bookingId, 100);
  }
  const first = await sys.http("GET", `/api/ops/bookings?show_id=${showId}`);
  t.is(first.status, 200);
  t.true(Buffer.byteLength(first.text) < 768 * 1024, `${Buffer.byteLength(first.text)} bytes`);
  t.true(first.body.length < 30, "fewer than the limit: the byte budget ended the page");
  t.truthy(nextPath(first.headers.get("link")));
  const all = await allPages(sys, `/api/ops/bookings?show_id=${showId}`);
  t.deepEqual(ids(all.items, "booking_id"), [...bigOnes].reverse(), "newest first, each once");
  t.true(once(ids(all.items, "booking_id")));
});

test.serial("filters: tickets by show, booking, customer (any case) and status; bookings by show and receipt day", async (t) => {
  const showA = await createShow("2034-01-01T20:00:00Z", "A");
  const showB = await createShow("2034-02-01T20:00:00Z", "B");
  const bookingA = await book(showA, "ann@example.com");
  const bookingB = await book(showB, "bob@example.com");
  const ticketsA = [await confirm(bookingA, "Ann@Example.com", "2026-11-20T09:00:00Z"), await confirm(bookingA, "ann@example.com")];
  const ticketB = await confirm(bookingB, "bob@example.com", "2026-11-21T23:59:59Z");
  const canceled = await confirm(bookingB, "bob@example.com");
  await tickets.cancel(db(), { ticket_id: canceled, customer_email: "bob@example.com", price });

  const list = async (query: string) => ids((await sys.http("GET", `/api/tickets?${query}`)).body, "ticket_id");
  t.deepEqual(await list(`show_id=${showA}`), ticketsA);
  t.deepEqual(await list(`booking_id=${bookingB}`), [ticketB]);
  t.deepEqual(await list("customer_email=ANN@example.com"), ticketsA);
  t.deepEqual(await list(`status=canceled&show_id=${showB}`), [canceled]);
  t.deepEqual(await list(`show_id=${showB}`), [ticketB], "canceled tickets are left out by default");

  const bookings = async (query: string) => ids((await sys.http("GET", `/api/ops/bookings?${query}`)).body, "booking_id");
  t.deepEqual(await bookings(`show_id=${showA}`), [bookingA]);
  t.deepEqual(await bookings("receipt_issue_date=2026-11-21"), [bookingB]);
  t.deepEqual(await bookings(`receipt_issue_date=2026-11-20&show_id=${showA}`), [bookingA]);
  t.deepEqual(await bookings(`receipt_issue_date=2026-11-20&show_id=${showB}`), []);
});

test.serial("bad limits, cursors and filters are 400 with the field named, on every list", async (t) => {
  for (const path of ["/api/tickets", "/api/shows", "/api/ops/bookings"]) {
    for (const limit of ["0", "1001", "-1", "1.5", "abc", "", "1e3", "10&limit=20"]) {
      const response = await sys.http("GET", `${path}?limit=${limit}`);
      t.is(response.status, 400, `${path}?limit=${limit}`);
      t.is(response.body.details?.[0]?.field, "limit", `${path}?limit=${limit}`);
    }
    const notBase64Json = Buffer.from('{"not":"ours"}').toString("base64url");
    const badTime = Buffer.from(JSON.stringify(["2026-13-45T99:00:00.000000Z", randomUUID()])).toString("base64url");
    for (const cursor of ["garbage!", notBase64Json, badTime, "x".repeat(600)]) {
      const response = await sys.http("GET", `${path}?cursor=${cursor}`);
      t.is(response.status, 400, `${path}?cursor=${cursor}`);
      t.is(response.body.details?.[0]?.field, "cursor");
    }
    t.is((await sys.http("GET", `${path}?limit=1000`)).status, 200);
    t.is((await sys.http("GET", `${path}?limit=1`)).status, 200);
  }
  for (const query of ["show_id=nope", "booking_id=1", "status=refunded", "order=up", "customer_email="]) {
    t.is((await sys.http("GET", `/api/tickets?${query}`)).status, 400, query);
  }
  t.is((await sys.http("GET", "/api/shows?upcoming=yes")).status, 400);
  t.is((await sys.http("GET", "/api/ops/bookings?show_id=nope")).status, 400);
  t.is((await sys.http("GET", "/api/ops/bookings?receipt_issue_date=2026-02-30")).status, 400);
});

test.serial("the ops list answers 304 to If-None-Match while nothing changed, and 200 with a new ETag once something did", async (t) => {
  const showId = await createShow("2035-01-01T20:00:00Z");
  await book(showId);
  const first = await sys.http("GET", `/api/ops/bookings?show_id=${showId}`);
  const etag = first.headers.get("etag");
  t.regex(etag ?? "", /^"[A-Za-z0-9_-]+"$/);

  const unchanged = await sys.http("GET", `/api/ops/bookings?show_id=${showId}`, undefined, { "If-None-Match": etag! });
  t.is(unchanged.status, 304);
  t.is(unchanged.text, "");
  t.is(unchanged.headers.get("etag"), etag);

  const bookingId = await book(showId);
  const changed = await sys.http("GET", `/api/ops/bookings?show_id=${showId}`, undefined, { "If-None-Match": etag! });
  t.is(changed.status, 200);
  t.not(changed.headers.get("etag"), etag);
  t.is(changed.body[0].booking_id, bookingId);
});

test.serial("a show's sales: tickets sold over time and the funnel confirmed → printed → receipt → refunded", async (t) => {
  const showId = await createShow("2036-01-01T20:00:00Z");
  const bookingId = await book(showId);
  const [receipted] = [await confirm(bookingId, "x@example.com", new Date(Date.now() + 60_000).toISOString()), await confirm(bookingId)];
  await db().transaction((trx) => applyToOpsReadModel.ticketRefunded(trx, { header: newHeader(), ticket_id: receipted! }));

  const sales = await sys.http("GET", `/api/shows/${showId}/sales`);
  t.is(sales.status, 200);
  t.is(sales.body.show_id, showId);
  t.like(sales.body.funnel, { confirmed: 2, printed: 0, receipt: 1, refunded: 1, median_seconds_to_print: null });
  t.true(sales.body.funnel.median_seconds_to_receipt > 50);
  t.is(
    sales.body.sold_over_time.reduce((sum: number, bucket: { tickets: number }) => sum + bucket.tickets, 0),
    2,
  );
  const empty = await sys.http("GET", `/api/shows/${randomUUID()}/sales`);
  t.deepEqual(empty.body.sold_over_time, []);
  t.is(empty.body.funnel.confirmed, 0);
  t.is((await sys.http("GET", "/api/shows/not-a-uuid/sales")).status, 400);
});

test.serial("the OpenAPI document lists the paging parameters and the Link header", async (t) => {
  const doc = (await sys.http("GET", "/api/openapi.json")).body;
  for (const path of ["/api/tickets", "/api/shows", "/api/ops/bookings"]) {
    const op = doc.paths[path].get;
    const names = op.parameters.map((p: { name: string }) => p.name);
    t.true(names.includes("limit") && names.includes("cursor"), path);
    t.truthy(op.responses["200"].headers.Link, path);
  }
  const tickets = doc.paths["/api/tickets"].get.parameters.map((p: { name: string }) => p.name);
  t.true(["show_id", "booking_id", "customer_email", "status"].every((name) => tickets.includes(name)));
  t.truthy(doc.paths["/api/ops/bookings"].get.responses["304"]);
  t.truthy(doc.paths["/api/shows/{show_id}/sales"].get);
});
