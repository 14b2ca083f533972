import test from "ava";
import type { DeadLetterSummary } from "../../lib/messaging/dead-letters.ts";
import type { TicketsNode } from "../../node/start-node.ts";
import { startTestSystem, type TestSystem } from "../support/system.ts";

// The dead-letter list is answered by the admin service on another node, so it crosses NATS (1 MiB).
let sys: TestSystem;
let operator: TicketsNode;
test.before(async () => {
  sys = await startTestSystem({ env: { SERVICES: "api" } });
  operator = await sys.startNode({ SERVICES: "admin" });
  await sys.node.broker.waitForServices(["admin"], 15_000);
});
test.after.always(async () => {
  await sys?.stop();
});

const LETTERS = 40;
const list = (params: Record<string, unknown> = {}) =>
  sys.node.broker.call<DeadLetterSummary[], Record<string, unknown>>("admin.dlqList", params);

test("40 dead letters with 40 KB errors each (1.6 MB) come back in byte-bounded pages that cover each once", async (t) => {
  await operator.runtime.db.raw(
    `INSERT INTO dead_letters (handler, service, message_id, name, subject, payload, error, deliveries)
     SELECT 'tickets.PrintTicket', 'tickets', 'm' || n, 'TicketBookingConfirmed_v1', 's', '{}', repeat('stack line ', 3700), 4
     FROM generate_series(1, ?) AS n`,
    [LETTERS],
  );
  const first = await list();
  t.true(first.length > 0 && first.length < LETTERS, `${first.length} letters on the first page`);
  t.true(Buffer.byteLength(JSON.stringify(first)) <= 768 * 1024);

  const seen: number[] = [];
  for (let page = first; page.length > 0; page = await list({ after: page.at(-1)!.id })) seen.push(...page.map((letter) => letter.id));
  t.is(seen.length, LETTERS);
  t.is(new Set(seen).size, LETTERS);
  t.deepEqual(
    seen,
    [...seen].sort((a, b) => a - b),
    "oldest first",
  );

  t.is((await list({ limit: 3 })).length, 3);
  for (const params of [{ limit: 0 }, { limit: 501 }, { limit: "x" }, { after: -1 }]) {
    await t.throwsAsync(list(params), { code: 400 }, JSON.stringify(params));
  }
});
