// A client that goes silent inside a transaction (its link died before COMMIT) must not keep its
// row locks: the server ends the session after the idle-in-transaction limit, and other sessions
// get the rows. A statement queued on a lock gives up after the lock limit instead of waiting on.
import test from "ava";
import { randomUUID } from "node:crypto";
import pg from "pg";
import { createDatabase, migrateToLatest, sessionSettings } from "../../lib/database/db.ts";
import { createTestDatabase, eventually } from "../support/system.ts";

const limits = { statementTimeoutMs: 5_000, lockTimeoutMs: 300, idleInTransactionTimeoutMs: 500 };

test("rows locked by a transaction left idle are released once the idle-in-transaction limit ends its session", async (t) => {
  const database = await createTestDatabase();
  const db = createDatabase(database.url, { max: 3 }, undefined, limits);
  t.teardown(async () => {
    await db.destroy();
    await database.drop();
  });
  await migrateToLatest(db);
  await db("outbox").insert({ message_id: randomUUID(), kind: "event", name: "X", subject: "s", payload: "{}", metadata: {} });

  const silent = new pg.Client({ connectionString: database.url, ...sessionSettings(limits) });
  silent.on("error", () => undefined);
  await silent.connect();
  await silent.query("BEGIN");
  await silent.query("SELECT seq FROM outbox FOR UPDATE");
  // the silent holder never speaks again; another relay's claim finds the row once the server ends it
  await eventually(async () => (await db.raw("SELECT seq FROM outbox FOR UPDATE SKIP LOCKED")).rows.length === 1);
  await t.throwsAsync(silent.query("COMMIT"));
  await silent.end().catch(() => undefined);
});

test("a statement waiting for a lock gives up after the lock limit", async (t) => {
  const database = await createTestDatabase();
  const db = createDatabase(database.url, { max: 3 }, undefined, { ...limits, idleInTransactionTimeoutMs: 60_000 });
  t.teardown(async () => {
    await db.destroy();
    await database.drop();
  });
  await migrateToLatest(db);
  await db("outbox").insert({ message_id: randomUUID(), kind: "event", name: "X", subject: "s", payload: "{}", metadata: {} });
  const holder = await db.transaction();
  await holder.raw("SELECT seq FROM outbox FOR UPDATE");
  await t.throwsAsync(db.raw("SELECT seq FROM outbox FOR UPDATE"), { message: /lock timeout/ });
  await holder.rollback();
});
