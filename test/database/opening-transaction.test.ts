// A transaction that opens with a statement sent together with BEGIN, and statements sent with its
// COMMIT, against a real Postgres: one round trip for each pair, the opening statement's rows handed
// to the work, and everything else a transaction does (commit, rollback, savepoints, a failed
// statement) unchanged. Serial: the statement counts listen on the shared pool.
import test from "ava";
import type { Database } from "../../lib/database/db.ts";
import { atCommit, sqlLiteral, transactionOpeningWith } from "../../lib/database/opening-transaction.ts";
import { openTestDatabase } from "../support/system.ts";

let db: Database;
let close: (() => Promise<void>) | undefined;
test.before(async () => {
  ({ db, close } = await openTestDatabase({ max: 2 }, { migrate: false }));
  await db.raw("CREATE TABLE marks (key text PRIMARY KEY)");
});
test.after.always(() => close?.());

const insertMark = (key: string) => `INSERT INTO marks (key) VALUES (${sqlLiteral(key)}) ON CONFLICT (key) DO NOTHING RETURNING key`;
const marked = async (key: string) => (await db("marks").where({ key }).first()) !== undefined;

async function statementsOf(work: () => Promise<unknown>): Promise<string[]> {
  const sent: string[] = [];
  const listen = (query: { sql: string }) => sent.push(query.sql);
  db.on("query", listen);
  try {
    await work();
  } finally {
    db.off("query", listen);
  }
  return sent;
}

test.serial("the opening statement goes with BEGIN in one round trip, its rows reach the work, and the commit keeps it", async (t) => {
  let rows: unknown[] = [];
  const sent = await statementsOf(() =>
    transactionOpeningWith(db, insertMark("first"), async (trx, opened) => {
      rows = opened;
      await trx("marks").insert({ key: "inside" });
    }),
  );
  t.deepEqual(rows, [{ key: "first" }]);
  t.is(sent.length, 3, sent.join(" | "));
  t.regex(sent[0]!, /^BEGIN; INSERT INTO marks/);
  t.regex(sent[2]!, /^COMMIT/);
  t.true(await marked("first"));
  t.true(await marked("inside"));
});

test.serial("a second opening of the same key returns no rows: the work can tell it was there", async (t) => {
  await transactionOpeningWith(db, insertMark("twice"), async () => undefined);
  const rows = await transactionOpeningWith(db, insertMark("twice"), async (_trx, opened) => opened);
  t.deepEqual(rows, []);
});

test.serial("work that throws rolls the opening statement back with it", async (t) => {
  const error = await t.throwsAsync(() =>
    transactionOpeningWith(db, insertMark("rolled-back"), async () => {
      throw new Error("the work failed");
    }),
  );
  t.is(error?.message, "the work failed");
  t.false(await marked("rolled-back"));
});

test.serial("a literal with quotes, backslashes, question marks and dollar signs is stored exactly", async (t) => {
  const key = `it's a \\ back'slash? $1 $$ ?? \\' end`;
  const rows = await transactionOpeningWith(db, insertMark(key), async (_trx, opened) => opened);
  t.deepEqual(rows, [{ key }]);
  t.true(await marked(key));
});

test.serial("an opening statement that fails rejects with Postgres's error, and the connection serves the next transaction", async (t) => {
  const error = await t.throwsAsync(() => transactionOpeningWith(db, "INSERT INTO no_such_table VALUES (1)", async () => "ran"));
  t.regex(error?.message ?? "", /no_such_table/);
  for (let i = 0; i < 3; i++) {
    const rows = await transactionOpeningWith(db, insertMark(`after-failure-${i}`), async (_trx, opened) => opened);
    t.deepEqual(rows, [{ key: `after-failure-${i}` }]);
  }
});

test.serial("savepoints inside it and plain transactions beside it begin as knex's do", async (t) => {
  const sent = await statementsOf(async () => {
    await transactionOpeningWith(db, insertMark("outer"), async (trx) => {
      await trx
        .transaction(async (savepoint) => {
          await savepoint("marks").insert({ key: "in-savepoint" });
          throw new Error("undo the savepoint only");
        })
        .catch(() => undefined);
      await trx("marks").insert({ key: "after-savepoint" });
    });
    await db.transaction(async (trx) => trx("marks").insert({ key: "plain" }));
  });
  t.true(await marked("outer"));
  t.false(await marked("in-savepoint"));
  t.true(await marked("after-savepoint"));
  t.true(await marked("plain"));
  t.true(sent.some((sql) => /^SAVEPOINT/.test(sql)));
  t.true(sent.some((sql) => /^ROLLBACK TO SAVEPOINT/.test(sql)));
  t.is(sent.filter((sql) => /^BEGIN;$/.test(sql)).length, 1, "the plain transaction's own BEGIN");
});

const plainMark = (key: string) => `INSERT INTO marks (key) VALUES (${sqlLiteral(key)})`;

test.serial("statements given to atCommit go with COMMIT in one round trip, in order, after the transaction's own work", async (t) => {
  const key = `it's a "?" and a \\ ? $1 ${"x".repeat(20)}`;
  let seenBeforeCommit = true;
  const sent = await statementsOf(() =>
    transactionOpeningWith(db, insertMark("with-tail"), async (trx) => {
      t.true(atCommit(trx, plainMark(key)));
      t.true(atCommit(trx, `UPDATE marks SET key = key || '-then' WHERE key = ${sqlLiteral(key)}`));
      seenBeforeCommit = (await trx("marks").where({ key }).first()) !== undefined;
    }),
  );
  t.false(seenBeforeCommit, "not sent before the commit");
  t.true(await marked(`${key}-then`), "sent literally (no ? rewritten), in order");
  t.true(await marked("with-tail"));
  t.is(sent.length, 3, "BEGIN with the opening, the read, the tail with COMMIT");
  t.regex(sent[2]!, /^INSERT INTO marks[\s\S]*;\nCOMMIT$/);
});

test.serial("a rolled-back transaction sends none of its commit statements", async (t) => {
  await t.throwsAsync(
    db.transaction(async (trx) => {
      atCommit(trx, plainMark("never"));
      throw new Error("roll back");
    }),
    { message: "roll back" },
  );
  t.false(await marked("never"));
});

test.serial(
  "a commit statement that fails fails the commit, keeps nothing of the transaction, and leaves the connection usable",
  async (t) => {
    await db("marks").insert({ key: "taken" });
    const error = await t.throwsAsync(
      transactionOpeningWith(db, insertMark("undone"), async (trx) => {
        atCommit(trx, plainMark("taken"));
      }),
    );
    t.regex(String(error?.message), /duplicate key/);
    t.false(await marked("undone"));
    for (let i = 0; i < 4; i++) {
      await db.transaction(async (trx) => {
        atCommit(trx, plainMark(`after-failed-commit-${i}`));
      });
      t.true(await marked(`after-failed-commit-${i}`));
    }
  },
);

test.serial("inside a savepoint atCommit declines, so the caller writes at once and the savepoint can undo it", async (t) => {
  await db.transaction(async (trx) => {
    await trx.transaction(async (savepoint) => {
      t.false(atCommit(savepoint, plainMark("in-savepoint-tail")));
    });
  });
  t.false(await marked("in-savepoint-tail"));
});
