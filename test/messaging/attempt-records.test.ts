// Attempt records opened in batches, against a real Postgres: each opening gets what a statement of
// its own would have told it, copies of one key included, in one statement per round. Serial: the
// statement counts listen on the shared pool.
import test from "ava";
import { randomUUID } from "node:crypto";
import type { Database } from "../../lib/database/db.ts";
import { openAttempts, type Attempt, type AttemptOpening } from "../../lib/messaging/attempt-records.ts";
import { createBatcher } from "../../lib/batcher.ts";
import { openTestDatabase } from "../support/system.ts";

let db: Database;
let close: (() => Promise<void>) | undefined;
test.before(async () => {
  ({ db, close } = await openTestDatabase({ max: 4 }));
});
test.after.always(() => close?.());

const valuesOf = (outcomes: Awaited<ReturnType<typeof openAttempts>>) =>
  outcomes.map((outcome) => {
    if (!("value" in outcome)) throw outcome.error;
    return outcome.value;
  });

test.serial("a batch of distinct keys opens each record once, in one statement, each attempt the first", async (t) => {
  const handler = `h-${randomUUID()}`;
  const openings: AttemptOpening[] = ["c", "a", "b"].map((key) => ({ handler, key, memo: `memo-${key}` }));
  let statements = 0;
  const count = () => statements++;
  db.on("query", count);
  const attempts = valuesOf(await openAttempts(db, openings));
  db.off("query", count);
  t.is(statements, 1);
  t.deepEqual(attempts, [
    { earlierAttempt: false, firstAttemptMemo: "memo-c", unansweredMsAgo: undefined },
    { earlierAttempt: false, firstAttemptMemo: "memo-a", unansweredMsAgo: undefined },
    { earlierAttempt: false, firstAttemptMemo: "memo-b", unansweredMsAgo: undefined },
  ]);
  const rows = await db("handler_attempts").where({ handler }).orderBy("key").select("key", "open_attempts");
  t.deepEqual(rows, [
    { key: "a", open_attempts: 1 },
    { key: "b", open_attempts: 1 },
    { key: "c", open_attempts: 1 },
  ]);
});

test.serial(
  "copies of one key in a batch: the first is the first attempt, each later copy sees an earlier one and the first copy's memo",
  async (t) => {
    const handler = `h-${randomUUID()}`;
    const openings: AttemptOpening[] = [
      { handler, key: "k", memo: "first" },
      { handler, key: "other" },
      { handler, key: "k", memo: "second" },
      { handler, key: "k", memo: "third" },
    ];
    const attempts = valuesOf(await openAttempts(db, openings));
    t.deepEqual(
      attempts.map((a) => [a.earlierAttempt, a.firstAttemptMemo]),
      [
        [false, "first"],
        [false, undefined],
        [true, "first"],
        [true, "first"],
      ],
    );
    t.is((await db("handler_attempts").where({ handler, key: "k" }).first("open_attempts")).open_attempts, 3);
  },
);

test.serial("an opening of a key an earlier attempt left open and unanswered is told so, with how long ago", async (t) => {
  const handler = `h-${randomUUID()}`;
  await db("handler_attempts").insert({
    handler,
    key: "k",
    memo: "kept",
    open_attempts: 1,
    unanswered_at: db.raw("now() - interval '2 seconds'"),
  });
  const [attempt] = valuesOf(await openAttempts(db, [{ handler, key: "k", memo: "new" }]));
  t.true(attempt!.earlierAttempt);
  t.is(attempt!.firstAttemptMemo, "kept");
  t.true(attempt!.unansweredMsAgo! >= 2000 && attempt!.unansweredMsAgo! < 60_000, `unanswered ${attempt!.unansweredMsAgo} ms ago`);
});

test.serial("openings submitted together through the batcher share one statement and each gets its own answer", async (t) => {
  const handler = `h-${randomUUID()}`;
  let statements = 0;
  const count = () => statements++;
  db.on("query", count);
  const batcher = createBatcher<AttemptOpening, Attempt>((openings) => openAttempts(db, openings), 64);
  const attempts = await Promise.all(Array.from({ length: 20 }, (_, i) => batcher.submit({ handler, key: `k${i % 10}`, memo: `m${i}` })));
  db.off("query", count);
  t.is(statements, 2, "one round for the ten keys, one for their second copies");
  t.deepEqual(
    attempts.map((a) => a.earlierAttempt),
    Array.from({ length: 20 }, (_, i) => i >= 10),
  );
  t.deepEqual(
    attempts.map((a) => a.firstAttemptMemo),
    Array.from({ length: 20 }, (_, i) => `m${i % 10}`),
  );
});
