import test from "ava";
import { createDatabase, migrateToLatest } from "../../lib/database/db.ts";
import { sweepIdempotencyKeys } from "../../lib/http/idempotency.ts";
import { createTestDatabase } from "../support/system.ts";

test("idempotency records older than the retention are swept; recent ones keep answering replays", async (t) => {
  const database = await createTestDatabase();
  const db = createDatabase(database.url, { max: 2 });
  t.teardown(async () => {
    await db.destroy();
    await database.drop();
  });
  await migrateToLatest(db);
  await db("idempotency_keys").insert([
    { scope: "book-tickets", key: "old", request_hash: "h", created_at: db.raw("now() - interval '2 days'") },
    { scope: "book-tickets:request", key: "old-implicit", request_hash: "h", created_at: db.raw("now() - interval '25 hours'") },
    { scope: "book-tickets", key: "recent", request_hash: "h" },
  ]);
  t.is(await sweepIdempotencyKeys(db, 24 * 3_600_000), 2);
  t.deepEqual(
    (await db("idempotency_keys").select("key")).map((r) => r.key),
    ["recent"],
  );
});
