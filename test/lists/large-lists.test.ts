import test from "ava";
import { insertSeason } from "./seed-rows.ts";
import { startTestSystem, type TestSystem } from "../support/system.ts";
import { allPages } from "./paging.ts";

const BOOKINGS = 7_000;
const TICKETS = 10_500;

let sys: TestSystem;
test.before(async () => {
  sys = await startTestSystem({ env: { SERVICES: "api,tickets,shows,ops" } });
  await insertSeason(sys.node.runtime.db, { bookings: BOOKINGS, doubles: TICKETS - BOOKINGS });
});
test.after.always(async () => {
  await sys?.stop();
});

test("with 7 000 bookings and 10 500 tickets the unpaged lists answer 200: their first page, with a Link to the next", async (t) => {
  const tickets = await sys.http("GET", "/api/tickets");
  t.is(tickets.status, 200, tickets.text.slice(0, 200));
  t.is(tickets.body.length, 1000);
  t.regex(tickets.headers.get("link") ?? "", /^<\/api\/tickets\?cursor=[A-Za-z0-9_-]+>; rel="next"$/);

  const bookings = await sys.http("GET", "/api/ops/bookings");
  t.is(bookings.status, 200, bookings.text.slice(0, 200));
  t.true(bookings.body.length > 0 && bookings.body.length <= 1000);
  t.true(Buffer.byteLength(bookings.text) <= 768 * 1024, "a page stays under what NATS carries");
  t.regex(bookings.headers.get("link") ?? "", /^<\/api\/ops\/bookings\?cursor=[A-Za-z0-9_-]+>; rel="next"$/);
});

test("pages of 1 000 cover every ticket and every booking exactly once", async (t) => {
  const tickets = await allPages(sys, "/api/tickets?limit=1000");
  t.is(tickets.items.length, TICKETS);
  t.is(new Set(tickets.items.map((ticket) => ticket.ticket_id)).size, TICKETS);
  t.true(tickets.pages.every((size) => size <= 1000));

  const bookings = await allPages(sys, "/api/ops/bookings?limit=1000");
  t.is(bookings.items.length, BOOKINGS);
  t.is(new Set(bookings.items.map((booking) => booking.booking_id)).size, BOOKINGS);
  const bookedAt = bookings.items.map((booking) => Date.parse(booking.booked_at));
  t.deepEqual(
    bookedAt,
    [...bookedAt].sort((a, b) => b - a),
    "newest booking first, across pages",
  );
});
