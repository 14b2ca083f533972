import test from "ava";
import { randomUUID } from "node:crypto";
import { decodeWatermillEntry } from "../../lib/redis-mirror/watermill.ts";
import { eventually, settle, startTestSystem, type TestSystem } from "../support/system.ts";

let sys: TestSystem;
test.before(async () => {
  sys = await startTestSystem({ env: { SERVICES: "api,tickets,datalake" } });
});
test.after.always(async () => {
  await sys?.stop();
});

const ticket = (overrides: Record<string, unknown> = {}) => ({
  ticket_id: randomUUID(),
  status: "confirmed",
  price: { amount: "50.30", currency: "GBP" },
  customer_email: "email@example.com",
  ...overrides,
});
/** Rows tickets-status itself writes; fulfilment handlers add their own events in the background. */
const outboxCount = async () =>
  Number(
    (await sys.node.runtime.db("outbox").whereIn("name", ["TicketBookingConfirmed_v1", "TicketBookingCanceled_v1"]).count({ n: "*" }))[0]!
      .n,
  );
const postStatus = (body: unknown, key: string | null = randomUUID(), headers: Record<string, string> = {}) =>
  sys.http("POST", "/api/tickets-status", body, key ? { "Idempotency-Key": key, ...headers } : headers);

test.serial("a confirmed ticket is stored and listed, and its event reaches the data lake", async (t) => {
  const confirmed = ticket();
  const response = await postStatus({ tickets: [confirmed] }, randomUUID(), { "Correlation-ID": "corr-1" });
  t.is(response.status, 200);
  t.is(response.headers.get("correlation-id"), "corr-1");
  t.truthy(response.headers.get("x-request-id"));

  const listed = await eventually(async () =>
    (await sys.http("GET", "/api/tickets")).body.find((x: { ticket_id: string }) => x.ticket_id === confirmed.ticket_id),
  );
  t.deepEqual(listed, {
    ticket_id: confirmed.ticket_id,
    price: { amount: "50.30", currency: "GBP" },
    customer_email: "email@example.com",
    booking_id: null,
  });

  const lake = await eventually(() =>
    sys.node.runtime
      .db("events")
      .where("event_payload", "@>", JSON.stringify({ ticket_id: confirmed.ticket_id }))
      .first(),
  );
  t.is(lake.event_name, "TicketBookingConfirmed_v1");
  t.is(lake.event_payload.header.idempotency_key !== undefined, true);
});

test.serial("a canceled ticket disappears from the list, also when the cancellation overtakes the confirmation", async (t) => {
  const early = ticket({ status: "canceled", price: { amount: "100.00", currency: "USD" } });
  t.is((await postStatus({ tickets: [early] })).status, 200);
  await eventually(() => sys.node.runtime.db("tickets").where({ ticket_id: early.ticket_id }).whereNotNull("deleted_at").first());
  t.is((await postStatus({ tickets: [{ ...early, status: "confirmed" }] })).status, 200);

  const kept = ticket();
  t.is((await postStatus({ tickets: [kept] })).status, 200);
  await eventually(async () =>
    (await sys.http("GET", "/api/tickets")).body.some((x: { ticket_id: string }) => x.ticket_id === kept.ticket_id),
  );
  await settle(300);
  const ids = (await sys.http("GET", "/api/tickets")).body.map((x: { ticket_id: string }) => x.ticket_id);
  t.false(ids.includes(early.ticket_id));
  t.is(
    await sys.node.runtime
      .db("dead_letters")
      .count({ n: "*" })
      .then((r) => Number(r[0]!.n)),
    0,
  );
});

test.serial("the same Idempotency-Key with the same body replays the answer and publishes nothing new", async (t) => {
  const key = randomUUID();
  const body = { tickets: [ticket(), ticket({ status: "canceled" })] };
  const before = await outboxCount();
  const first = await postStatus(body, key);
  t.is(first.status, 200);
  t.is(await outboxCount(), before + 2);
  const replays = await Promise.all([postStatus(body, key), postStatus(body, key)]);
  for (const replay of replays) {
    t.is(replay.status, 200);
    t.is(replay.headers.get("idempotent-replayed"), "true");
  }
  t.is(await outboxCount(), before + 2);
});

test.serial("the same Idempotency-Key with another body is 422 and publishes nothing", async (t) => {
  const key = randomUUID();
  t.is((await postStatus({ tickets: [ticket()] }, key)).status, 200);
  const before = await outboxCount();
  const other = await postStatus({ tickets: [ticket()] }, key);
  t.is(other.status, 422);
  t.regex(other.body.error, /Idempotency-Key/);
  t.is(await outboxCount(), before);
});

test.serial("bad requests get a 4xx with an error body and publish nothing", async (t) => {
  const before = await outboxCount();
  const missingKey = await postStatus({ tickets: [ticket()] }, null);
  t.is(missingKey.status, 400);
  t.deepEqual(missingKey.body, { error: "Idempotency-Key header is required" });

  const malformed = await postStatus("{not json", randomUUID());
  t.is(malformed.status, 400);
  t.deepEqual(malformed.body, { error: "malformed JSON body" });

  const wrongTypes = await postStatus({ tickets: [ticket({ price: { amount: 50.3, currency: "GBP" } })] });
  t.is(wrongTypes.status, 400);
  t.true(wrongTypes.body.details.some((d: { field: string }) => d.field === "tickets.0.price.amount"));

  // the valid first ticket must not be published when the second one is invalid
  const unknownStatus = await postStatus({ tickets: [ticket(), ticket({ status: "lost" })] });
  t.is(unknownStatus.status, 400);
  t.deepEqual(unknownStatus.body.details, [{ field: "tickets.1.status", message: 'must be "confirmed" or "canceled"' }]);

  const oversized = await postStatus({ tickets: [ticket({ customer_email: `${"x".repeat(300_000)}@example.com` })] });
  t.is(oversized.status, 413);
  t.deepEqual(oversized.body, { error: "request body too large" });

  t.is(await outboxCount(), before);
});

test.serial("GET /api/tickets is [] when there are none, unknown routes are 404 JSON, /health answers ok", async (t) => {
  await sys.node.runtime.db("tickets").delete();
  const empty = await sys.http("GET", "/api/tickets");
  t.is(empty.status, 200);
  t.is(empty.text, "[]");
  const unknown = await sys.http("GET", "/api/nothing-here");
  t.is(unknown.status, 404);
  t.deepEqual(unknown.body, { error: "Not found" });
  const health = await sys.http("GET", "/health");
  t.is(health.status, 200);
  t.is(health.text, "ok");
});

test.serial("every event is mirrored once into Redis Streams in the Watermill format, on `events` and `events.<Name>`", async (t) => {
  const confirmed = ticket();
  t.is((await postStatus({ tickets: [confirmed] }, randomUUID(), { "Correlation-ID": "mirror-corr" })).status, 200);
  const row = await sys.node.runtime.db("outbox").whereRaw("payload::jsonb->>'ticket_id' = ?", [confirmed.ticket_id]).first();
  const { redis, topology } = sys.node.runtime;
  for (const key of topology.redisStreams("event", "TicketBookingConfirmed_v1")) {
    const entries = await eventually(async () => {
      const all = await redis.xrangeBuffer(key, "-", "+");
      const decoded = all.map(([, fields]) => decodeWatermillEntry(fields));
      const mine = decoded.filter((entry) => entry.uuid === row.message_id);
      return mine.length > 0 ? mine : undefined;
    });
    t.is(entries.length, 1, `${key} holds the entry once`);
    const [entry] = entries;
    t.is(entry!.payload.toString(), row.payload);
    t.is(entry!.metadata.name, "TicketBookingConfirmed_v1");
    t.is(entry!.metadata.correlation_id, "mirror-corr");
  }
});
