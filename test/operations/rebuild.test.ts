// admin.rebuildReadModel from an admin-only node: the ops read model is rebuilt from the data lake
// by the ops service (another node), comes out the same, and admin.rebuildStatus reports the run.
import test from "ava";
import { randomUUID } from "node:crypto";
import type { OpsBookingView } from "../../contracts/http.ts";
import type { TicketsNode } from "../../node/start-node.ts";
import type { RebuildStatus } from "../../lib/inspection/read-models.ts";
import { ZERO_TIME } from "../../services/ops.read-model.ts";
import { eventually, quiet, startTestSystem, type TestSystem } from "../support/system.ts";

let sys: TestSystem;
let operator: TicketsNode;
test.before(async () => {
  sys = await startTestSystem({ env: { SERVICES: "api,tickets,shows,bookings,ops,datalake" }, deadNationCallbacks: true });
  operator = await sys.startNode({ SERVICES: "admin" });
  await operator.broker.waitForServices(["ops"], 15_000);
});
test.after.always(async () => {
  await sys?.stop();
});

const admin = <T>(action: string, params: Record<string, unknown>) =>
  operator.broker.call<T, Record<string, unknown>>(`admin.${action}`, params, { nodeID: operator.broker.nodeID });

/** The booking's ops document, last_update included: the rebuild must keep it as it was. */
async function opsDocument(bookingId: string): Promise<OpsBookingView | undefined> {
  const response = await sys.http("GET", `/api/ops/bookings/${bookingId}`);
  return response.status === 200 ? (response.body as OpsBookingView) : undefined;
}

test.serial("rebuilding ops-bookings from the REPL's node replays the data lake and yields the same documents", async (t) => {
  t.is(await admin("rebuildStatus", { name: "ops-bookings" }), null, "never rebuilt yet");

  const show = await sys.http("POST", "/api/shows", {
    dead_nation_id: randomUUID(),
    number_of_tickets: 10,
    start_time: "2026-12-31T22:00:00Z",
    title: "Rebuild",
    venue: "Hall",
  });
  t.is(show.status, 201);
  const booking = await sys.http("POST", "/api/book-tickets", {
    show_id: show.body.show_id,
    number_of_tickets: 2,
    customer_email: "rebuild@example.com",
  });
  t.is(booking.status, 201);
  const bookingId: string = booking.body.booking_id;
  const before = (await eventually(
    async () => {
      const document = await opsDocument(bookingId);
      const tickets = Object.values(document?.tickets ?? {});
      return tickets.length === 2 && tickets.every((ticket) => ticket.printed_at !== ZERO_TIME && ticket.receipt_issued_at !== ZERO_TIME)
        ? document
        : undefined;
    },
    { timeoutMs: 30_000 },
  ))!;
  await eventually(() => quiet(sys));
  const lakeEvents = Number((await sys.node.runtime.db("events").count({ n: "*" }))[0]!.n);

  const result = await admin<{ applied: number; skipped: number; done: boolean }>("rebuildReadModel", { name: "ops-bookings" });
  t.true(result.done);
  t.is(result.applied + result.skipped, lakeEvents, "every event of the data lake was replayed");
  t.deepEqual(await opsDocument(bookingId), before);

  const status = (await admin<RebuildStatus | null>("rebuildStatus", { name: "ops-bookings" }))!;
  t.is(status.readModel, "ops-bookings");
  t.is(status.applied, result.applied);
  t.is(status.skipped, result.skipped);
  t.truthy(status.finishedAt);
  t.true(Date.parse(status.finishedAt!) >= Date.parse(status.startedAt));
});
