/**
 * Does housekeeping keep up? In one run:
 *   1. the highest sustained booking rate: bookings over HTTP (no Idempotency-Key, so each leaves an
 *      implicit key) with Dead Nation confirming, until the whole chain is quiet; how many rows each
 *      table got per booking (inserts counted by Postgres, so rows deleted at commit count too);
 *   2. at 2× that rate, expired rows written into every table while housekeeping runs (each pass
 *      looping until a short batch): rows written per second vs removed per second per table, and
 *      the expired rows left at the end;
 *   3. the capacity: one pass over a backlog of one interval's rows at that rate.
 *
 *   node --import tsx bench/housekeeping.ts   BENCH_SECONDS (load, default 20), BENCH_CLIENTS (default 32),
 *     BENCH_BOOKING_RATE (a higher rate measured elsewhere, e.g. bench:http's, to double instead)
 */
import { randomUUID } from "node:crypto";
import { createDatabase, type Database, migrateToLatest } from "../lib/database/db.ts";
import { type HousekeepingPass, startHousekeeping } from "../lib/housekeeping/housekeeping.ts";
import { silentLogger } from "../lib/observability/logger.ts";
import { createTestDatabase, quiet, startTestSystem, type TestSystem } from "../test/support/system.ts";
import { machine, report, round, sleep } from "./support.ts";

const loadSeconds = Number(process.env.BENCH_SECONDS ?? 20);
const clients = Number(process.env.BENCH_CLIENTS ?? 32);
const elsewhere = Number(process.env.BENCH_BOOKING_RATE ?? 0);
const TABLES = ["outbox", "idempotency_keys", "processed_messages", "handler_attempts"] as const;
type Table = (typeof TABLES)[number];
const HOUR = 3_600_000;
const retention = { outbox: HOUR, explicit: 24 * HOUR, implicit: 10 * 60_000, inbox: 8 * 24 * HOUR };

/** Rows inserted into each table so far, as Postgres counts them. */
async function inserts(db: Database): Promise<Record<Table, number>> {
  const rows = await db("pg_stat_user_tables").whereIn("relname", TABLES).select("relname", "n_tup_ins");
  return Object.fromEntries(TABLES.map((table) => [table, Number(rows.find((row) => row.relname === table)?.n_tup_ins ?? 0)])) as Record<
    Table,
    number
  >;
}

async function measureBookingRate(sys: TestSystem) {
  const db = sys.node.runtime.db;
  const showIds = Array.from({ length: 50 }, () => randomUUID());
  await db("shows").insert(
    showIds.map((show_id) => ({
      show_id,
      dead_nation_id: randomUUID(),
      number_of_tickets: 1_000_000,
      start_time: "2027-01-01 20:00:00",
      title: "Bench",
      venue: "Bench Hall",
    })),
  );
  await sleep(1_000); // let pg_stat settle after the inserts above
  const before = await inserts(db);
  let booked = 0;
  const deadline = performance.now() + loadSeconds * 1000;
  const started = performance.now();
  await Promise.all(
    Array.from({ length: clients }, async (_, client) => {
      for (let i = client; performance.now() < deadline; i += clients) {
        const response = await sys.http("POST", "/api/book-tickets", {
          show_id: showIds[i % showIds.length],
          number_of_tickets: 1,
          customer_email: "bench@example.com",
        });
        if (response.status === 201) booked++;
      }
    }),
  );
  const httpSeconds = (performance.now() - started) / 1000;
  while (!(await quiet(sys))) await sleep(200);
  const chainSeconds = (performance.now() - started) / 1000;
  await sleep(1_000);
  const after = await inserts(db);
  const perBooking = Object.fromEntries(TABLES.map((table) => [table, (after[table] - before[table]) / booked])) as Record<Table, number>;
  // sustained = the whole chain (relay, handlers, confirmations) done, not just the HTTP answers
  return { booked, httpRate: booked / httpSeconds, sustainedRate: booked / chainSeconds, perBooking };
}

/** Inserts `n` rows into `table` that housekeeping may already remove. */
async function writeExpired(db: Database, table: Table, n: number): Promise<void> {
  if (n <= 0) return;
  const statements: Record<Table, string> = {
    outbox: `INSERT INTO outbox (message_id, kind, name, subject, payload, published_at)
             SELECT gen_random_uuid(), 'event', 'Bench_v1', 'events.Bench_v1', '{"header":{}}', now() - interval '61 minutes' FROM generate_series(1, ?)`,
    idempotency_keys: `INSERT INTO idempotency_keys (scope, key, request_hash, created_at)
             SELECT 'book-tickets:request', gen_random_uuid()::text, 'h', now() - interval '11 minutes' FROM generate_series(1, ?)`,
    processed_messages: `INSERT INTO processed_messages (handler, key, processed_at)
             SELECT 'bench-Handler', gen_random_uuid()::text, now() - interval '9 days' FROM generate_series(1, ?)`,
    // worst case: every attempt record leaks (its skip-path commit failed); its key is done
    handler_attempts: `WITH done AS (INSERT INTO processed_messages (handler, key) SELECT 'bench-Attempts', gen_random_uuid()::text FROM generate_series(1, ?) RETURNING handler, key)
             INSERT INTO handler_attempts (handler, key) SELECT handler, key FROM done`,
  };
  await db.raw(statements[table], [n]);
}

/** Rows housekeeping should have removed and has not. */
async function expiredLeft(db: Database): Promise<Record<Table, number>> {
  const expired: Record<Table, string> = {
    outbox: "published_at < now() - interval '1 hour'",
    idempotency_keys: "scope LIKE '%:request' AND created_at < now() - interval '10 minutes'",
    processed_messages: "processed_at < now() - interval '8 days'",
    handler_attempts: "(handler, key) IN (SELECT handler, key FROM processed_messages)",
  };
  const counts = await Promise.all(
    TABLES.map(async (table) => Number((await db.raw(`SELECT count(*) AS n FROM ${table} WHERE ${expired[table]}`)).rows[0].n)),
  );
  return Object.fromEntries(TABLES.map((table, i) => [table, counts[i]])) as Record<Table, number>;
}

async function main(): Promise<void> {
  const sys = await startTestSystem({ env: { LOG_LEVEL: "warn", POSTGRES_POOL_MAX: "20" }, deadNationCallbacks: true });
  let measured: Awaited<ReturnType<typeof measureBookingRate>>;
  try {
    measured = await measureBookingRate(sys);
  } finally {
    await sys.stop();
  }
  // rows reach the outbox and idempotency keys at the HTTP rate: the higher of the two is the one to beat
  const highest = Math.max(measured.httpRate, measured.sustainedRate, elsewhere);
  const target = 2 * highest;
  const rowsPerSecond = Object.fromEntries(TABLES.map((table) => [table, target * measured.perBooking[table]])) as Record<Table, number>;

  const database = await createTestDatabase();
  const db = createDatabase(database.url, { max: 6 });
  try {
    await migrateToLatest(db);
    const housekeeping = startHousekeeping({
      db,
      logger: silentLogger,
      outboxRetentionMs: retention.outbox,
      idempotency: { explicitMs: retention.explicit, implicitMs: retention.implicit },
      inboxRetentionMs: retention.inbox,
      batchSize: 10_000,
      // the bench runs the passes itself (every second), to count what each removes
      intervalMs: HOUR,
    });
    const removed: Record<Table, number> = { outbox: 0, idempotency_keys: 0, processed_messages: 0, handler_attempts: 0 };
    const written: Record<Table, number> = { ...removed };
    const add = (pass: HousekeepingPass) => {
      for (const table of TABLES) removed[table] += pass[table] ?? 0;
    };
    const steadySeconds = 30;
    let writing = true;
    const started = performance.now();
    const writer = (async () => {
      while (writing) {
        const due = (performance.now() - started) / 1000;
        for (const table of TABLES) {
          const n = Math.floor(rowsPerSecond[table] * due) - written[table];
          await writeExpired(db, table, n);
          written[table] += Math.max(0, n);
        }
        await sleep(100);
      }
    })();
    const cleaner = (async () => {
      while (writing) {
        add(await housekeeping.runOnce());
        await sleep(1_000);
      }
    })();
    await sleep(steadySeconds * 1000);
    writing = false;
    await Promise.all([writer, cleaner]);
    const elapsed = (performance.now() - started) / 1000;
    add(await housekeeping.runOnce());
    const left = await expiredLeft(db);

    // capacity: one 60 s interval's worth of rows at the 2× rate, removed by one pass
    for (const table of TABLES) await writeExpired(db, table, Math.round(rowsPerSecond[table] * 60));
    const t0 = performance.now();
    const backlog = await housekeeping.runOnce();
    const passSeconds = (performance.now() - t0) / 1000;

    const figures: Record<string, string | number> = {
      "bookings in the load run": measured.booked,
      "HTTP booking rate /s": round(measured.httpRate, 1),
      "sustained booking rate /s (chain quiet)": round(measured.sustainedRate, 1),
      "BENCH_BOOKING_RATE /s": elsewhere || "unset",
      "housekeeping target /s (2× the highest)": round(target, 1),
    };
    for (const table of TABLES) {
      figures[`${table}: rows per booking`] = round(measured.perBooking[table], 2);
      figures[`${table}: written /s at 2×`] = round(written[table] / elapsed);
      figures[`${table}: removed /s at 2×`] = round(removed[table] / elapsed);
      figures[`${table}: expired rows left after last pass`] = left[table];
      figures[`${table}: one pass over 60 s at 2×`] = `${backlog[table] ?? 0} rows`;
    }
    const backlogRows = Object.values(backlog).reduce((a, b) => a + b, 0);
    figures["one pass over 60 s of rows, all tables"] = `${round(passSeconds, 2)} s (${round(backlogRows / passSeconds)} rows/s)`;
    figures["headroom: interval / pass time"] = round(60 / passSeconds, 1);
    await housekeeping.stop();
    report(`housekeeping at 2× the highest booking rate — ${machine()}`, figures);
  } finally {
    await db.destroy();
    await database.drop();
  }
}

await main();
