import test from "ava";
import { randomUUID } from "node:crypto";
import { createDatabase, type Database } from "../../lib/database/db.ts";
import { silentLogger } from "../../lib/observability/logger.ts";
import { type TokenOwner, TokenOwners } from "../../lib/http/auth/token-owners.ts";
import { staffRepository } from "../../lib/http/auth/staff-repository.ts";
import { createTestDatabase, eventually, settle, startTestSystem, type TestSystem } from "../support/system.ts";
import { proxiedPostgres } from "../support/tcp-proxy.ts";
import { bearer, createStaff } from "./staff.ts";

const owner: TokenOwner = { username: "alice", role: "operator" };

/** A cache on a LISTEN connection of its own, through a proxy the test can cut; `lookups` counts what reached "Postgres". */
async function cacheFixture(t: import("ava").ExecutionContext) {
  const database = await createTestDatabase();
  t.teardown(() => database.drop());
  const db: Database = createDatabase(database.url, { max: 2 });
  t.teardown(() => db.destroy());
  const { proxy, url: viaProxy } = await proxiedPostgres(database.url);
  t.teardown(() => proxy.close());
  const cache = new TokenOwners({ postgresUrl: viaProxy, ttlMs: 60_000, logger: silentLogger });
  await cache.start();
  t.teardown(() => cache.stop());
  let lookups = 0;
  const lookup = async () => {
    lookups++;
    return owner;
  };
  const ask = () => cache.ownerOf("digest", lookup);
  return { db, proxy, cache, ask, lookups: () => lookups };
}

test("a checked token is looked up once; any credential notice drops it, and the next request asks Postgres again", async (t) => {
  const f = await cacheFixture(t);
  for (let i = 0; i < 5; i++) t.deepEqual(await f.ask(), owner);
  t.is(f.lookups(), 1);
  await f.db.raw("SELECT pg_notify('staff_credentials', 'staff_api_tokens')");
  await eventually(async () => {
    await f.ask();
    return f.lookups() === 2;
  });
  await f.ask();
  t.is(f.lookups(), 2, "kept again after the notice");
});

test("while LISTEN is lost nothing is served from the cache; once it is back the cache starts empty", async (t) => {
  const f = await cacheFixture(t);
  await f.ask();
  await f.proxy.cut();
  await eventually(async () => {
    const before = f.lookups();
    await f.ask();
    return f.lookups() === before + 1;
  });
  const during = f.lookups();
  await f.ask();
  await f.ask();
  t.is(f.lookups(), during + 2, "every request asks while no notice can arrive");
  await f.proxy.restore();
  await eventually(async () => {
    const before = f.lookups();
    await f.ask();
    await f.ask();
    return f.lookups() === before + 1;
  });
});

test("a lookup that overlaps a notice is not kept: its row may predate the change", async (t) => {
  const f = await cacheFixture(t);
  let lookups = 0;
  const racing = async () => {
    lookups++;
    if (lookups === 1) {
      await f.db.raw("SELECT pg_notify('staff_credentials', 'staff_users')");
      await settle(300); // the notice arrives while this lookup is still out
    }
    return owner;
  };
  await f.cache.ownerOf("raced", racing);
  await f.cache.ownerOf("raced", racing);
  t.is(lookups, 2);
});

let sys: TestSystem;
test.before(async () => {
  sys = await startTestSystem({ env: { ADMIN_TOKEN: `admin-${randomUUID()}` } });
});
test.after.always(async () => {
  await sys?.stop();
});

test.serial(
  "a gateway with the token cached refuses it as soon as it is revoked, its user lowered or removed, by any process",
  async (t) => {
    const tokenQueries = () => {
      let n = 0;
      const count = (q: { sql: string }) => void (q.sql.includes("staff_api_tokens") && n++);
      sys.node.runtime.db.on("query", count);
      return { count: () => n, done: () => sys.node.runtime.db.off("query", count) };
    };
    const staff = staffRepository(sys.node.runtime.db);
    const ok = async (token: string, path = "/api/tickets") => (await sys.http("GET", path, undefined, bearer(token))).status;

    const revoked = await createStaff(sys, "operator");
    const queries = tokenQueries();
    t.teardown(queries.done);
    for (let i = 0; i < 5; i++) t.is(await ok(revoked.token), 200);
    t.is(queries.count(), 1, "five requests, one lookup");
    queries.done();
    const [row] = await sys.node.runtime
      .db("staff_api_tokens")
      .whereRaw("name = 'test'")
      .orderBy("created_at", "desc")
      .limit(1)
      .select("token_id");
    t.true(await staff.revokeToken(row!.token_id));
    t.is(await eventually(async () => ((await ok(revoked.token)) === 401 ? 401 : undefined), { timeoutMs: 2_000 }), 401);

    // an operator's refund of a ticket nobody has: 404 for an operator, 403 once the role is too low
    const refund = async (token: string) => (await sys.http("PUT", `/api/ticket-refund/${randomUUID()}`, undefined, bearer(token))).status;
    const lowered = await createStaff(sys, "operator");
    t.is(await refund(lowered.token), 404);
    await staff.updateUser(lowered.username, { role: "viewer" });
    t.truthy(await eventually(async () => (await refund(lowered.token)) === 403 || undefined, { timeoutMs: 2_000 }));

    const removed = await createStaff(sys, "viewer");
    t.is(await ok(removed.token), 200);
    t.true(await staff.removeUser(removed.username));
    t.truthy(await eventually(async () => (await ok(removed.token)) === 401 || undefined, { timeoutMs: 2_000 }));
  },
);
