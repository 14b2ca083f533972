// Housekeeping of everything written per message or per request, against a real Postgres: each
// table's expired rows go in one pass however many batches they take, by an index, and what is
// still needed stays.
import test from "ava";
import { loadConfig } from "../../config/index.ts";
import type { Database } from "../../lib/database/db.ts";
import { type HousekeepingOptions, startHousekeeping } from "../../lib/housekeeping/housekeeping.ts";
import { silentLogger } from "../../lib/observability/logger.ts";
import { openTestDatabase } from "../support/system.ts";

let db: Database;
let close: (() => Promise<void>) | undefined;
test.before(async () => {
  ({ db, close } = await openTestDatabase({ max: 4 }));
});
test.after.always(() => close?.());

const HOUR = 3_600_000;
const options = (overrides: Partial<HousekeepingOptions> = {}): HousekeepingOptions => ({
  db,
  logger: silentLogger,
  outboxRetentionMs: HOUR,
  idempotency: { explicitMs: 24 * HOUR, implicitMs: 10 * 60_000 },
  inboxRetentionMs: 8 * 24 * HOUR,
  batchSize: 500,
  intervalMs: HOUR,
  ...overrides,
});

async function onePass(overrides: Partial<HousekeepingOptions> = {}) {
  const housekeeping = startHousekeeping(options(overrides));
  try {
    return await housekeeping.runOnce();
  } finally {
    await housekeeping.stop();
  }
}

const count = async (table: string, where = "true") =>
  Number((await db.raw(`SELECT count(*) AS n FROM ${table} WHERE ${where}`)).rows[0].n);

test.serial("one pass removes every expired published outbox row, many batches of them; pending and recent rows stay", async (t) => {
  await db.raw(`
    INSERT INTO outbox (message_id, kind, name, subject, payload, published_at)
    SELECT gen_random_uuid(), 'event', 'Old_v1', 'events.Old_v1', '{}', now() - interval '2 hours' FROM generate_series(1, 2600);
    INSERT INTO outbox (message_id, kind, name, subject, payload, published_at)
    SELECT gen_random_uuid(), 'event', 'Recent_v1', 'events.Recent_v1', '{}', now() - interval '5 minutes' FROM generate_series(1, 3);
    INSERT INTO outbox (message_id, kind, name, subject, payload, created_at)
    SELECT gen_random_uuid(), 'event', 'Pending_v1', 'events.Pending_v1', '{}', now() - interval '3 hours' FROM generate_series(1, 2);
  `);
  const pass = await onePass();
  t.is(pass.outbox, 2600);
  t.is(await count("outbox", "name = 'Old_v1'"), 0);
  t.is(await count("outbox", "name = 'Recent_v1'"), 3);
  t.is(await count("outbox", "name = 'Pending_v1'"), 2, "rows not published yet are never removed");
  await db("outbox").delete();
});

test.serial("implicit per-request idempotency keys expire after their short retention, a client's keys after the long one", async (t) => {
  await db.raw(`
    INSERT INTO idempotency_keys (scope, key, request_hash, created_at)
    SELECT 'book-tickets:request', 'implicit-old-' || i, 'h', now() - interval '11 minutes' FROM generate_series(1, 1200) i;
    INSERT INTO idempotency_keys (scope, key, request_hash, created_at) VALUES
      ('book-tickets:request', 'implicit-recent', 'h', now() - interval '1 minute'),
      ('book-tickets', 'client-old', 'h', now() - interval '25 hours'),
      ('book-tickets', 'client-11-minutes', 'h', now() - interval '11 minutes');
  `);
  const pass = await onePass();
  t.is(pass.idempotency_keys, 1201);
  t.deepEqual(
    (await db("idempotency_keys").orderBy("key").select("key")).map((row) => row.key),
    ["client-11-minutes", "implicit-recent"],
  );
  await db("idempotency_keys").delete();
});

test.serial("inbox markers older than the retention are removed, younger ones stay", async (t) => {
  await db.raw(`
    INSERT INTO processed_messages (handler, key, processed_at)
    SELECT 'tickets-StoreTicket', 'old-' || i, now() - interval '9 days' FROM generate_series(1, 1100) i;
    INSERT INTO processed_messages (handler, key, processed_at) VALUES ('tickets-StoreTicket', 'six-days', now() - interval '6 days');
  `);
  const pass = await onePass();
  t.is(pass.processed_messages, 1100);
  t.deepEqual(
    (await db("processed_messages").select("key")).map((row) => row.key),
    ["six-days"],
  );
  await db("processed_messages").delete();
});

test.serial("an attempt record whose key the inbox holds as done is removed; one of a key not done yet stays", async (t) => {
  await db("processed_messages").insert({ handler: "tickets-AppendToTracker", key: "done" });
  await db("handler_attempts").insert([
    { handler: "tickets-AppendToTracker", key: "done" },
    { handler: "tickets-AppendToTracker", key: "dead-lettered" },
    { handler: "tickets-PrintTicket", key: "done" },
  ]);
  const pass = await onePass();
  t.is(pass.handler_attempts, 1);
  t.deepEqual(
    (await db("handler_attempts").orderBy(["handler", "key"]).select("handler", "key")).map((row) => `${row.handler}/${row.key}`),
    ["tickets-AppendToTracker/dead-lettered", "tickets-PrintTicket/done"],
  );
  await db("handler_attempts").delete();
  await db("processed_messages").delete();
});

test.serial("expired idempotency keys and inbox markers are found by an index, not a sequential scan", async (t) => {
  const plans = await db.transaction(async (trx) => {
    await trx.raw("SET LOCAL enable_seqscan = off");
    const plan = async (sql: string) =>
      (await trx.raw(`EXPLAIN ${sql}`)).rows.map((row: { "QUERY PLAN": string }) => row["QUERY PLAN"]).join("\n");
    return {
      explicit: await plan("SELECT ctid FROM idempotency_keys WHERE created_at < now() - interval '1 day' LIMIT 10"),
      implicit: await plan(
        "SELECT ctid FROM idempotency_keys WHERE scope LIKE '%:request' AND created_at < now() - interval '10 minutes' LIMIT 10",
      ),
      inbox: await plan("SELECT ctid FROM processed_messages WHERE processed_at < now() - interval '8 days' LIMIT 10"),
    };
  });
  t.notRegex(plans.explicit, /Seq Scan/);
  t.regex(plans.implicit, /idempotency_keys_implicit_created_at/);
  t.notRegex(plans.inbox, /Seq Scan/);
});

test("an inbox retention no longer than the streams' max age or duplicate window is refused at start-up", (t) => {
  t.throws(() => loadConfig({ JETSTREAM_MAX_AGE_MS: "86400000", INBOX_RETENTION_MS: "86400000" }), { message: /INBOX_RETENTION_MS/ });
  t.throws(() => loadConfig({ JETSTREAM_DUPLICATE_WINDOW_MS: "999999999", INBOX_RETENTION_MS: "999999999" }), {
    message: /INBOX_RETENTION_MS/,
  });
  t.notThrows(() => loadConfig({}));
});
