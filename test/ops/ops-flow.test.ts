import test from "ava";
import { randomUUID } from "node:crypto";
import { setTimeout } from "node:timers/promises";
import { createDatabase } from "../../lib/database/db.ts";
import { OpsBookingView } from "../../contracts/http.ts";
import {
  OPS_TABLE,
  PREVIOUS_TABLE,
  REBUILD_TABLE,
  rebuildOpsReadModel,
  toView,
  ZERO_TIME,
  type RebuildProgress,
} from "../../services/ops.read-model.ts";
import { eventually, quiet, startTestSystem, type TestSystem } from "../support/system.ts";

let sys: TestSystem;
test.before(async () => {
  sys = await startTestSystem({
    env: {
      SERVICES: "api,tickets,shows,bookings,ops,datalake,refunds",
      // A ticket event that reaches the new live table before its booking is re-applied there retries
      // until the swap's catch-up (which waits up to 30 s for the data lake), as in production.
      CONSUMER_RETRY_BUDGET_MS: "45000",
    },
    deadNationCallbacks: true,
  });
});
test.after.always(async () => {
  await sys?.stop();
});

const db = () => sys.node.runtime.db;
const allSet = (ticket: OpsBookingView["tickets"][string]) =>
  [ticket.confirmed_at, ticket.printed_at, ticket.receipt_issued_at].every((time) => time !== ZERO_TIME) &&
  ticket.printed_file_name !== "" &&
  ticket.receipt_number !== "";

/** Every document of a read-model table, without last_update (the time of the write, not of the facts). */
async function documents(table: string): Promise<Omit<OpsBookingView, "last_update">[]> {
  const rows = await db()(table).select("payload").orderBy("booking_id");
  return rows.map((row) => {
    const { last_update: _, ...facts } = toView(row.payload);
    return facts;
  });
}

let bookingId: string;
let ticketIds: string[];

test.serial(
  "create show → book → Dead Nation confirms → printed and receipted → the ops booking shows it all; a refund sets refunded_at",
  async (t) => {
    const show = await sys.http("POST", "/api/shows", {
      dead_nation_id: randomUUID(),
      number_of_tickets: 10,
      start_time: "2026-12-31T22:00:00Z",
      title: "New Year",
      venue: "Arena",
    });
    t.is(show.status, 201);
    const booking = await sys.http("POST", "/api/book-tickets", {
      show_id: show.body.show_id,
      number_of_tickets: 2,
      customer_email: "flow@example.com",
    });
    t.is(booking.status, 201);
    bookingId = booking.body.booking_id;
    t.is(booking.headers.get("location"), `/api/ops/bookings/${bookingId}`, "the 201 points at the booking's ops view");

    const document = (await eventually(
      async () => {
        const response = await sys.http("GET", booking.headers.get("location")!);
        const tickets = Object.values((response.body as OpsBookingView).tickets ?? {});
        return response.status === 200 && tickets.length === 2 && tickets.every(allSet) ? (response.body as OpsBookingView) : undefined;
      },
      { timeoutMs: 30_000 },
    ))!;
    t.true(OpsBookingView.strict().safeParse(document).success, JSON.stringify(document));
    ticketIds = Object.keys(document.tickets).sort();
    const callback = sys.sim.state.callbacks.find((c) => c.booking_id === bookingId);
    t.true(callback?.ok);
    for (const ticketId of ticketIds) {
      const ticket = document.tickets[ticketId]!;
      const receipt = [...sys.sim.state.receipts.values()].find((r) => r.ticket_id === ticketId)!;
      t.like(ticket, {
        price_amount: "50.00",
        price_currency: "EUR",
        customer_email: "flow@example.com",
        printed_file_name: `${ticketId}-ticket.html`,
        receipt_number: receipt.number,
        refunded_at: ZERO_TIME,
        canceled_at: ZERO_TIME,
      });
      t.is(Date.parse(ticket.receipt_issued_at), Date.parse(receipt.issued_at));
    }
    const listed = (await sys.http("GET", "/api/shows")).body.find((s: { show_id: string }) => s.show_id === show.body.show_id);
    t.is(listed.available_tickets, 8);
    t.is(sys.sim.state.deadNationBookings.filter((b) => b.booking_id === bookingId).length, 1);

    const receiptDay = document.tickets[ticketIds[0]!]!.receipt_issued_at.slice(0, 10);
    const byDay = await sys.http("GET", `/api/ops/bookings?receipt_issue_date=${receiptDay}`);
    t.true(byDay.body.some((b: OpsBookingView) => b.booking_id === bookingId));

    const refund = await sys.http("PUT", `/api/ticket-refund/${ticketIds[0]}`);
    t.is(refund.status, 202);
    const refunded = (await eventually(async () => {
      const current = (await sys.http("GET", `/api/ops/bookings/${bookingId}`)).body as OpsBookingView;
      return current.tickets[ticketIds[0]!]!.refunded_at !== ZERO_TIME ? current : undefined;
    }))!;
    t.regex(refunded.tickets[ticketIds[0]!]!.refunded_at, /Z$/);
    t.is(refunded.tickets[ticketIds[1]!]!.refunded_at, ZERO_TIME);
  },
);

test.serial("a rebuild from the data lake yields the live documents, beside them and then swapped in", async (t) => {
  await eventually(() => quiet(sys));
  const live = await documents(OPS_TABLE);
  t.true(live.some((d) => d.booking_id === bookingId));

  const { broker } = sys.node;
  const beside = (await broker.call("ops.rebuildReadModel", { swap: false }, { nodeID: broker.nodeID })) as RebuildProgress;
  t.like(beside, { target: REBUILD_TABLE, skipped: 0, done: true });
  t.deepEqual(await documents(REBUILD_TABLE), live);

  const swapped = (await broker.call("ops.rebuildReadModel", {}, { nodeID: broker.nodeID })) as RebuildProgress;
  t.like(swapped, { target: OPS_TABLE, skipped: 0, done: true, lakeCaughtUp: true });
  t.deepEqual(await documents(OPS_TABLE), live);
  t.deepEqual(await documents(PREVIOUS_TABLE), live);

  // The live consumers now write into the rebuilt table.
  await sys.http("PUT", `/api/ticket-refund/${ticketIds[1]}`);
  await eventually(
    async () =>
      ((await sys.http("GET", `/api/ops/bookings/${bookingId}`)).body as OpsBookingView).tickets[ticketIds[1]!]!.refunded_at !== ZERO_TIME,
  );
  t.pass();
});

test.serial("an interrupted rebuild resumes from its checkpoint and ends with the same documents", async (t) => {
  await eventually(() => quiet(sys));
  const live = await documents(OPS_TABLE);
  const seen: RebuildProgress[] = [];
  const interrupted = rebuildOpsReadModel(db(), {
    batchSize: 2,
    swap: false,
    restart: true,
    onProgress(progress) {
      seen.push(progress);
      if (seen.length === 2) throw new Error("operator pressed ctrl-c");
    },
  });
  await t.throwsAsync(interrupted, { message: "operator pressed ctrl-c" });
  const stoppedAt = seen.at(-1)!;
  t.truthy(stoppedAt.position);

  const resumed: RebuildProgress[] = [];
  const finished = await rebuildOpsReadModel(db(), { batchSize: 2, swap: false, onProgress: (progress) => void resumed.push(progress) });
  t.is(resumed[0]!.cutoff, stoppedAt.cutoff);
  t.true(resumed[0]!.applied > stoppedAt.applied);
  const [before, after] = [stoppedAt.position!, resumed[0]!.position!];
  t.true(BigInt(after.tx) > BigInt(before.tx) || (after.tx === before.tx && after.seq > before.seq), "resumed past the checkpoint");
  const relevant = await db()("events")
    .whereIn("event_name", [
      "BookingMade_v1",
      "TicketBookingConfirmed_v1",
      "TicketPrinted_v1",
      "TicketReceiptIssued_v1",
      "TicketRefunded_v1",
      "TicketBookingCanceled_v1",
    ])
    .count({ n: "*" });
  t.is(finished.applied, Number(relevant[0]!.n));
  t.is(finished.skipped, 0);
  t.deepEqual(await documents(REBUILD_TABLE), live);
});

test.serial("a rebuild swapped in under traffic loses no event", async (t) => {
  const show = await sys.http("POST", "/api/shows", {
    dead_nation_id: randomUUID(),
    number_of_tickets: 1000,
    start_time: "2027-02-01T20:00:00Z",
    title: "Busy",
    venue: "Hall",
  });
  const { broker } = sys.node;
  const traffic = Promise.all(
    Array.from({ length: 20 }, (_, i) =>
      sys.http("POST", "/api/book-tickets", {
        show_id: show.body.show_id,
        number_of_tickets: 1 + (i % 3),
        customer_email: `busy${i}@example.com`,
      }),
    ),
  );
  const swapped = (await broker.call("ops.rebuildReadModel", { restart: true }, { nodeID: broker.nodeID })) as RebuildProgress;
  t.like(swapped, { done: true, lakeCaughtUp: true });
  const bookings = await traffic;
  t.true(bookings.every((b) => b.status === 201));
  await eventually(() => quiet(sys), { timeoutMs: 30_000 });
  t.deepEqual(await db()("dead_letters").select("handler", "error"), [], "no ticket event gave up while the swap was catching up");

  const afterTraffic = await documents(OPS_TABLE);
  for (const booking of bookings) t.true(afterTraffic.some((d) => d.booking_id === booking.body.booking_id));
  await rebuildOpsReadModel(db(), { swap: false, restart: true });
  t.deepEqual(await documents(REBUILD_TABLE), afterTraffic);
});

test.serial("a second rebuild while one runs is refused", async (t) => {
  let release!: () => void;
  const held = new Promise<void>((resolve) => (release = resolve));
  let started!: () => void;
  const running = new Promise<void>((resolve) => (started = resolve));
  const first = rebuildOpsReadModel(db(), {
    batchSize: 1,
    swap: false,
    restart: true,
    async onProgress() {
      started();
      await held;
    },
  });
  await running;
  await t.throwsAsync(rebuildOpsReadModel(db(), { swap: false }), { message: /already running/ });
  release();
  t.like(await first, { done: true });
});

test.serial("an event stamped early that reaches the data lake after the ordered replay passed its time is still replayed", async (t) => {
  await eventually(() => quiet(sys));
  const template = await db()("events").where("event_name", "BookingMade_v1").first("event_payload");
  const lateBookingId = randomUUID();
  const lateEventId = randomUUID();
  let injected = false;
  const finished = await rebuildOpsReadModel(db(), {
    batchSize: 1,
    swap: false,
    restart: true,
    async onProgress() {
      if (injected) return;
      injected = true;
      // published long before anything the replay has passed, stored only now (a slow writer, a lake outage)
      const header = { ...template.event_payload.header, id: lateEventId, published_at: "2020-01-01T00:00:00Z" };
      await db()("events").insert({
        event_id: lateEventId,
        published_at: "2020-01-01 00:00:00",
        event_name: "BookingMade_v1",
        event_payload: { ...template.event_payload, header, booking_id: lateBookingId },
      });
    },
  });
  t.teardown(() => db()("events").where("event_id", lateEventId).delete());
  t.true(finished.done);
  const rebuilt = await db()(REBUILD_TABLE).where("booking_id", lateBookingId).first("payload");
  t.truthy(rebuilt, "the late event is in the rebuilt read model");
});

test.serial("a replayed event that waits on a live transaction past the lock timeout is tried again, not skipped", async (t) => {
  await eventually(() => quiet(sys));
  const lakeTemplate = async (name: string) => (await db()("events").where("event_name", name).first("event_payload")).event_payload;
  const bookingId = randomUUID();
  const ticketId = randomUUID();
  const made = await lakeTemplate("BookingMade_v1");
  const confirmed = await lakeTemplate("TicketBookingConfirmed_v1");
  const events = [
    { ...made, header: { ...made.header, id: randomUUID() }, booking_id: bookingId },
    { ...confirmed, header: { ...confirmed.header, id: randomUUID() }, booking_id: bookingId, ticket_id: ticketId },
  ];
  const toLake = (event: (typeof events)[number], eventName: string) =>
    db()("events").insert({
      event_id: event.header.id,
      published_at: event.header.published_at,
      event_name: eventName,
      event_payload: event,
    });
  const impatient = createDatabase(sys.config.POSTGRES_URL, { max: 4 }, undefined, {
    statementTimeoutMs: 30_000,
    lockTimeoutMs: 100,
    idleInTransactionTimeoutMs: 60_000,
  });
  t.teardown(async () => {
    await db()("events")
      .whereIn(
        "event_id",
        events.map((e) => e.header.id),
      )
      .delete();
    await db()(OPS_TABLE).where("booking_id", bookingId).delete();
    await impatient.destroy();
  });
  await toLake(events[0]!, "BookingMade_v1");
  let live: Promise<unknown> | undefined;
  const finished = await rebuildOpsReadModel(impatient, {
    restart: true,
    dataLake: {
      mark: async () => 0,
      // A live consumer applied the confirmation to the old table just before the swap; it reaches the lake
      // only now, so only the re-apply after the swap brings it to the new table, while another live
      // transaction holds the booking for longer than the rebuild's lock timeout.
      async reached() {
        await toLake(events[1]!, "TicketBookingConfirmed_v1");
        let locked!: () => void;
        const holding = new Promise<void>((resolve) => (locked = resolve));
        live = db().transaction(async (trx) => {
          await trx(OPS_TABLE).where("booking_id", bookingId).forUpdate().first();
          locked();
          await setTimeout(800);
        });
        await holding;
      },
    },
  });
  await live;
  t.like(finished, { done: true, lakeCaughtUp: true });
  const document = toView((await db()(OPS_TABLE).where("booking_id", bookingId).first("payload")).payload);
  t.truthy(document.tickets[ticketId], "the confirmation the live transaction held up is in the live table");
});

test.serial(
  "lake events stored before the booking and ticket they need are applied once those arrive, across batches and a resumed run",
  async (t) => {
    await eventually(() => quiet(sys));
    const lakeTemplate = async (name: string) => (await db()("events").where("event_name", name).first("event_payload")).event_payload;
    const bookingId = randomUUID();
    const ticketId = randomUUID();
    const [made, confirmed, printed] = await Promise.all(
      ["BookingMade_v1", "TicketBookingConfirmed_v1", "TicketPrinted_v1"].map(lakeTemplate),
    );
    // stored in the order the lake's batches committed: the print first, its booking last
    const outOfOrder = [
      [
        "TicketPrinted_v1",
        { ...printed, header: { ...printed.header, id: randomUUID() }, ticket_id: ticketId, file_name: `${ticketId}-ticket.html` },
      ],
      [
        "TicketBookingConfirmed_v1",
        { ...confirmed, header: { ...confirmed.header, id: randomUUID() }, booking_id: bookingId, ticket_id: ticketId },
      ],
      ["BookingMade_v1", { ...made, header: { ...made.header, id: randomUUID() }, booking_id: bookingId }],
    ] as const;
    for (const [eventName, event] of outOfOrder) {
      await db()("events").insert({
        event_id: event.header.id,
        published_at: event.header.published_at,
        event_name: eventName,
        event_payload: event,
      });
    }
    t.teardown(() =>
      db()("events")
        .whereIn(
          "event_id",
          outOfOrder.map(([, event]) => event.header.id),
        )
        .delete(),
    );
    // the first run stops after its first batch, as a crash would; the second resumes from its checkpoint
    const stop = new Error("stopped after one batch");
    await t.throwsAsync(
      rebuildOpsReadModel(db(), {
        batchSize: 1,
        swap: false,
        restart: true,
        onProgress: () => {
          throw stop;
        },
      }),
      { is: stop },
    );
    const finished = await rebuildOpsReadModel(db(), { batchSize: 1, swap: false });
    t.true(finished.done);
    const rebuilt = await db()(REBUILD_TABLE).where("booking_id", bookingId).first("payload");
    t.truthy(rebuilt, "the booking is in the rebuilt read model");
    const ticket = toView(rebuilt.payload).tickets[ticketId];
    t.truthy(ticket, "its ticket too");
    t.not(ticket!.printed_at, "0001-01-01T00:00:00Z", "the print stored before both is applied");
    t.is(ticket!.printed_file_name, `${ticketId}-ticket.html`);
  },
);
