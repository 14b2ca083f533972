import test from "ava";
import { randomUUID } from "node:crypto";
import { signatureHeaderValue } from "../../lib/http/auth/partner-signature.ts";
import { eventually, quiet, startTestSystem, type TestSystem } from "../support/system.ts";
import { bearer, createStaff } from "./staff.ts";

// Dead Nation's callbacks carry Tickets-Signature: t=<unix seconds>,v1=HMAC-SHA256(secret, "t.body").

const SECRET = `partner-${randomUUID()}`;
let sys: TestSystem;

test.before(async () => {
  sys = await startTestSystem({ deadNationCallbacks: true, env: { PARTNER_SIGNING_SECRET: SECRET, RATE_LIMIT_AUTH_FAILURES: "1000" } });
});
test.after.always(async () => {
  await sys?.stop();
});

const now = () => Math.floor(Date.now() / 1000);
const callback = (ticketId = randomUUID()) =>
  JSON.stringify({
    tickets: [{ ticket_id: ticketId, status: "confirmed", price: { amount: "50.00", currency: "EUR" }, customer_email: "fan@example.com" }],
  });
const post = (body: string, headers: Record<string, string>) =>
  sys.http("POST", "/api/tickets-status", body, { "Idempotency-Key": randomUUID(), ...headers });
const outboxRows = async () => Number((await sys.node.runtime.db("outbox").count({ n: "*" }))[0]!.n);
const ticketsNamed = (body: string) => JSON.parse(body).tickets.map((t: { ticket_id: string }) => t.ticket_id);
const messagesFor = async (body: string) =>
  Number(
    (
      await sys.node.runtime
        .db("outbox")
        .whereLike("payload", `%${ticketsNamed(body)[0]}%`)
        .count({ n: "*" })
    )[0]!.n,
  );

test.serial("the built-in simulator signs its callbacks, and they are accepted", async (t) => {
  const show = { dead_nation_id: randomUUID(), number_of_tickets: 5, start_time: "2026-12-24T20:00:00Z", title: "Signed", venue: "Hall" };
  t.is((await sys.http("POST", "/api/shows", show)).status, 401, "enforcement is on: the signing secret is a credential");
  const auth = bearer((await createStaff(sys, "operator")).token);
  const created = await sys.http("POST", "/api/shows", show, auth);
  const booked = await sys.http(
    "POST",
    "/api/book-tickets",
    { show_id: created.body.show_id, number_of_tickets: 2, customer_email: "a@b.c" },
    auth,
  );
  t.is(booked.status, 201);
  const delivered = await eventually(() => sys.sim.state.callbacks.find((c) => c.booking_id === booked.body.booking_id && c.ok));
  t.is(delivered.status, 200);
  const signed = sys.sim.state.callbacks.filter((c) => c.booking_id === booked.body.booking_id);
  t.true(
    signed.every((c) => c.ok),
    "accepted at the first attempt",
  );
  const confirmations = await sys.node.runtime
    .db("outbox")
    .where({ name: "TicketBookingConfirmed_v1" })
    .whereLike("payload", `%${booked.body.booking_id}%`);
  t.is(confirmations.length, 2);
});

test.serial("a valid signature is accepted once; the same request again is a replay (401) with no second effect", async (t) => {
  const body = callback();
  const signature = signatureHeaderValue(SECRET, body);
  const first = await post(body, { "Tickets-Signature": signature });
  t.is(first.status, 200);
  await eventually(() =>
    sys.node.runtime
      .db("tickets")
      .where({ ticket_id: ticketsNamed(body)[0] })
      .first(),
  );
  await eventually(() => quiet(sys));
  const messages = await messagesFor(body);
  const calls = sys.sim.state.calls.length;
  const replay = await post(body, { "Tickets-Signature": signature });
  t.is(replay.status, 401);
  t.regex(replay.body.error, /replay/);
  await eventually(() => quiet(sys));
  t.is(await messagesFor(body), messages, "no new message for the replay");
  t.is(sys.sim.state.calls.length, calls, "no gateway call for the replay");
});

const refusals: [string, (body: string) => { body: string; headers: Record<string, string> }, RegExp][] = [
  ["missing", (body) => ({ body, headers: {} }), /missing Tickets-Signature/],
  [
    "made with another secret",
    (body) => ({ body, headers: { "Tickets-Signature": signatureHeaderValue(`${SECRET}-other`, body) } }),
    /does not match/,
  ],
  [
    "over a body changed after signing",
    (body) => ({ body: body.replace("50.00", "0.01"), headers: { "Tickets-Signature": signatureHeaderValue(SECRET, body) } }),
    /does not match/,
  ],
  [
    "stale (over 5 minutes old)",
    (body) => ({ body, headers: { "Tickets-Signature": signatureHeaderValue(SECRET, body, now() - 301) } }),
    /too far/,
  ],
  [
    "from the future (over 5 minutes ahead)",
    // whole seconds: +301 made at x.999 is checked a moment later as 300 ahead, inside the tolerance
    (body) => ({ body, headers: { "Tickets-Signature": signatureHeaderValue(SECRET, body, now() + 310) } }),
    /too far/,
  ],
  ["malformed", (body) => ({ body, headers: { "Tickets-Signature": "v1=abc" } }), /malformed/],
];

for (const [name, make, reason] of refusals) {
  test.serial(`a signature ${name} is 401 and changes nothing`, async (t) => {
    await eventually(() => quiet(sys));
    const before = await outboxRows();
    const calls = sys.sim.state.calls.length;
    const request = make(callback());
    const response = await post(request.body, request.headers);
    t.is(response.status, 401);
    t.regex(response.body.error, reason);
    t.is(await outboxRows(), before, "no message");
    t.is(
      await sys.node.runtime
        .db("tickets")
        .where({ ticket_id: ticketsNamed(request.body)[0] })
        .first(),
      undefined,
      "no row",
    );
    await eventually(() => quiet(sys));
    t.is(sys.sim.state.calls.length, calls, "no gateway call");
  });
}

test.serial("a callback that failed on our side (5xx) may be retried with the same signature, and then counts once", async (t) => {
  // A cluster whose only node has no tickets service: the callback is accepted at the door, then 503.
  const lonely = await startTestSystem({ env: { SERVICES: "api", PARTNER_SIGNING_SECRET: SECRET } });
  try {
    const body = callback();
    const headers = { "Tickets-Signature": signatureHeaderValue(SECRET, body), "Idempotency-Key": randomUUID() };
    const failed = await lonely.http("POST", "/api/tickets-status", body, headers);
    t.is(failed.status, 503);
    const signature = headers["Tickets-Signature"].split("v1=")[1];
    await eventually(async () => (await lonely.node.runtime.db("partner_signatures_seen").where({ signature }).first()) === undefined);
    const worker = await lonely.startNode({ SERVICES: "tickets" });
    await lonely.node.broker.waitForServices(["tickets"], 15_000);
    const retried = await lonely.http("POST", "/api/tickets-status", body, headers);
    t.is(retried.status, 200);
    t.is((await lonely.http("POST", "/api/tickets-status", body, headers)).status, 401, "accepted once, then a replay");
    await worker.stop();
  } finally {
    await lonely.stop();
  }
});
