import test from "ava";
import { randomBytes, randomUUID } from "node:crypto";
import { SpanKind } from "@opentelemetry/api";
import { InMemorySpanExporter, type ReadableSpan } from "@opentelemetry/sdk-trace-node";
import type { ServiceSchema } from "moleculer";
import pino from "pino";
import { TicketBookingConfirmed_v1, TicketReceiptIssued_v1 } from "../../contracts/index.ts";
import type { TicketsNode } from "../../node/start-node.ts";
import { exportSpansTo } from "../../lib/observability/tracing.ts";
import { ConsumerMixin, on } from "../../mixins/consumer.mixin.ts";
import { eventually, startTestSystem, type TestSystem } from "../support/system.ts";
import { maxDeliveriesOf } from "../../lib/messaging/consumer.ts";

// Every span this process ends lands here; the system's nodes all run in this process.
const spans = new InMemorySpanExporter();
exportSpansTo(spans);

let sys: TestSystem;
let worker: TicketsNode;
const logLines: Record<string, unknown>[] = [];

test.before(async () => {
  // The gateway node runs no business service, so every action call crosses to the worker over NATS.
  sys = await startTestSystem({ env: { SERVICES: "api" } });
  // warn: quiet start-up, while the probe's warn lines are written (and captured).
  worker = await sys.startNode({ SERVICES: "tickets,shows,bookings", LOG_LEVEL: "warn" });
  captureLogs(worker);
  // A handler that only logs, to show its lines carry the message's correlation id and trace id.
  worker.broker.createService({
    name: "traceprobe",
    mixins: [ConsumerMixin()],
    subscriptions: {
      LogProbe: on(TicketBookingConfirmed_v1, async function (ticket) {
        this.logger.warn({ ticket_id: ticket.ticket_id }, "probe saw the ticket");
      }),
    },
  } as ServiceSchema);
  await sys.node.broker.waitForServices(["tickets", "bookings", "traceprobe"], 15_000);
});
test.after.always(async () => {
  await sys?.stop();
});

/** Reads the worker's JSON log lines instead of printing them (pino writes to its own stream). */
function captureLogs(node: TicketsNode) {
  const appenders = (
    node.broker as unknown as { loggerFactory: { appenders: { pino?: Record<symbol, { write(line: string): boolean }> }[] } }
  ).loggerFactory.appenders;
  const stream = appenders.find((a) => a.pino)!.pino![pino.symbols.streamSym]!;
  stream.write = (line: string) => {
    logLines.push(JSON.parse(line));
    return true;
  };
}

const hex = (bytes: number) => randomBytes(bytes).toString("hex");
const idOf = (span: ReadableSpan) => span.spanContext().spanId;
const parentOf = (span: ReadableSpan) => span.parentSpanContext?.spanId;
const inTrace = (traceId: string) => spans.getFinishedSpans().filter((s) => s.spanContext().traceId === traceId);
/** Waits until `find` finds something; a typed `eventually` for lookups. */
const waitFor = <T>(find: () => T | undefined | Promise<T | undefined>) => eventually(find) as Promise<T>;
const findSpan = (traceId: string, name: string) => waitFor(() => inTrace(traceId).find((s) => s.name === name));
const traceparentParts = (value: string | undefined) => /^00-([0-9a-f]{32})-([0-9a-f]{16})-0[01]$/.exec(value ?? "")?.slice(1) ?? [];

test.serial(
  "one POST /api/tickets-status is one trace: HTTP span → action span on another node → outbox row → handler span → gateway call",
  async (t) => {
    const traceId = hex(16);
    const callerSpanId = hex(8);
    const correlationId = `trace-test-${randomUUID()}`;
    const ticket = {
      ticket_id: randomUUID(),
      status: "confirmed",
      price: { amount: "12.00", currency: "EUR" },
      customer_email: "trace@example.com",
      booking_id: randomUUID(),
    };

    const response = await sys.http(
      "POST",
      "/api/tickets-status",
      { tickets: [ticket] },
      {
        "Idempotency-Key": randomUUID(),
        "Correlation-ID": correlationId,
        traceparent: `00-${traceId}-${callerSpanId}-01`,
      },
    );
    t.is(response.status, 200);
    t.is(response.headers.get("x-trace-id"), traceId);

    const http = await findSpan(traceId, "POST /api/tickets-status");
    t.is(http.kind, SpanKind.SERVER);
    t.is(parentOf(http), callerSpanId);
    t.is(http.attributes["http.route"], "/api/tickets-status");
    t.is(http.attributes["http.response.status_code"], 200);

    const action = await findSpan(traceId, "tickets.updateStatus");
    t.is(parentOf(action), idOf(http));
    t.is(action.attributes["moleculer.node_id"], worker.broker.nodeID, "the action ran on the worker node");

    const row = await worker.runtime
      .db("outbox")
      .where({ name: TicketBookingConfirmed_v1.name })
      .whereLike("payload", `%${ticket.ticket_id}%`)
      .first();
    t.deepEqual(traceparentParts(row.metadata.traceparent), [traceId, idOf(action)]);
    t.is(row.metadata.correlation_id, correlationId);

    const topic = worker.runtime.topology.subject("event", TicketBookingConfirmed_v1.name);
    const handler = await findSpan(traceId, `topic: ${topic}, handler: IssueReceipt`);
    t.is(handler.kind, SpanKind.CONSUMER);
    t.is(parentOf(handler), idOf(action));
    t.like(handler.attributes, { topic, handler: "IssueReceipt" });

    const gatewayCall = await findSpan(traceId, "PUT receipts-api");
    t.is(gatewayCall.kind, SpanKind.CLIENT);
    t.is(parentOf(gatewayCall), idOf(handler));
    t.true([200, 201].includes(gatewayCall.attributes["http.response.status_code"] as number));

    // What the gateway received: the client span's traceparent and the request's Correlation-ID.
    const received = await waitFor(() =>
      sys.sim.state.calls.find((c) => c.path === "/receipts-api/receipts" && JSON.stringify(c.body).includes(ticket.ticket_id)),
    );
    t.deepEqual(traceparentParts(received.headers.traceparent as string), [traceId, idOf(gatewayCall)]);
    t.is(received.headers["correlation-id"], correlationId);

    // The follow-up event continues from the handler that published it.
    const followUp = await waitFor(() =>
      worker.runtime.db("outbox").where({ name: TicketReceiptIssued_v1.name }).whereLike("payload", `%${ticket.ticket_id}%`).first(),
    );
    t.deepEqual(traceparentParts(followUp.metadata.traceparent), [traceId, idOf(handler)]);
    t.is(followUp.metadata.correlation_id, correlationId);

    // A handler's own log line carries the correlation id and the trace id without passing them.
    const probeLine = await waitFor(() =>
      logLines.find((line) => line.msg === "probe saw the ticket" && line.ticket_id === ticket.ticket_id),
    );
    t.is(probeLine.correlation_id, correlationId);
    t.is(probeLine.trace_id, traceId);
    await findSpan(traceId, `topic: ${topic}, handler: LogProbe`);
  },
);

test.serial("one booking is one trace from the HTTP request to the Dead Nation call", async (t) => {
  const show = { show_id: randomUUID(), dead_nation_id: randomUUID() };
  await worker.runtime
    .db("shows")
    .insert({ ...show, number_of_tickets: 10, start_time: "2026-12-24 19:30:00", title: "Traced", venue: "Venue" });
  const correlationId = `booking-trace-${randomUUID()}`;

  const response = await sys.http(
    "POST",
    "/api/book-tickets",
    { show_id: show.show_id, number_of_tickets: 2, customer_email: "dn@example.com" },
    { "Correlation-ID": correlationId },
  );
  t.is(response.status, 201);
  const traceId = response.headers.get("x-trace-id")!;
  t.regex(traceId, /^[0-9a-f]{32}$/);

  const http = await findSpan(traceId, "POST /api/book-tickets");
  t.is(parentOf(http), undefined, "no incoming traceparent: the HTTP span starts the trace");
  const action = await findSpan(traceId, "bookings.book");
  t.is(parentOf(action), idOf(http));
  const topic = worker.runtime.topology.subject("event", "BookingMade_v1");
  const handler = await findSpan(traceId, `topic: ${topic}, handler: BookPlaceInDeadNation`);
  t.is(parentOf(handler), idOf(action));
  const gatewayCall = await findSpan(traceId, "POST dead-nation-api");
  t.is(parentOf(gatewayCall), idOf(handler));

  const received = await waitFor(() =>
    sys.sim.state.calls.find(
      (c) => c.path === "/dead-nation-api/ticket/booking" && JSON.stringify(c.body).includes(response.body.booking_id),
    ),
  );
  t.deepEqual(traceparentParts(received.headers.traceparent as string), [traceId, idOf(gatewayCall)]);
  t.is(received.headers["correlation-id"], correlationId);
  t.is(sys.sim.state.deadNationBookings.filter((b) => b.booking_id === response.body.booking_id).length, 1);
});

test.serial("a failing request is an error span and still answers with its X-Trace-ID", async (t) => {
  const response = await sys.http("POST", "/api/book-tickets", {
    show_id: randomUUID(),
    number_of_tickets: 1,
    customer_email: "x@example.com",
  });
  t.is(response.status, 404);
  const traceId = response.headers.get("x-trace-id")!;
  const action = await findSpan(traceId, "bookings.book");
  t.is(action.status.code, 2 /* ERROR */);
  const http = await findSpan(traceId, "POST /api/book-tickets");
  t.is(http.attributes["http.response.status_code"], 404);
});

test.serial("a dead letter replayed later is one more attempt in the message's own trace, down to its gateway call", async (t) => {
  const traceId = hex(16);
  const ticket = {
    ticket_id: randomUUID(),
    status: "confirmed",
    price: { amount: "13.00", currency: "EUR" },
    customer_email: "replay-trace@example.com",
    booking_id: randomUUID(),
  };
  sys.sim.failNext({ method: "PUT", path: "/receipts-api/receipts" }, maxDeliveriesOf(worker.config), 500);
  const response = await sys.http(
    "POST",
    "/api/tickets-status",
    { tickets: [ticket] },
    { "Idempotency-Key": randomUUID(), traceparent: `00-${traceId}-${hex(8)}-01` },
  );
  t.is(response.status, 200);
  const letter = await waitFor(() =>
    worker.runtime.db("dead_letters").where({ handler: "tickets-IssueReceipt" }).whereLike("payload", `%${ticket.ticket_id}%`).first(),
  );

  const topic = worker.runtime.topology.subject("event", TicketBookingConfirmed_v1.name);
  const handlerSpanName = `topic: ${topic}, handler: IssueReceipt`;
  const attemptsBefore = inTrace(traceId).filter((s) => s.name === handlerSpanName).length;
  const result = await worker.broker.call<{ replayed: boolean }, { id: number }>("tickets.replayDeadLetter", { id: Number(letter.id) });
  t.true(result.replayed);

  const replayAttempt = await waitFor(() => inTrace(traceId).filter((s) => s.name === handlerSpanName)[attemptsBefore]);
  const gatewayCall = await waitFor(() =>
    inTrace(traceId).find((s) => s.name === "PUT receipts-api" && parentOf(s) === idOf(replayAttempt)),
  );
  t.true([200, 201].includes(gatewayCall.attributes["http.response.status_code"] as number));
  t.is([...sys.sim.state.receipts.values()].filter((r) => r.ticket_id === ticket.ticket_id).length, 1);
});
