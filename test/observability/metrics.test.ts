import test from "ava";
import { AckPolicy, DeliverPolicy } from "@nats-io/jetstream";
import { randomUUID } from "node:crypto";
import { TicketBookingConfirmed_v1 } from "../../contracts/index.ts";
import { renderMetrics } from "../../lib/observability/metrics-exposition.ts";
import { writeToOutbox } from "../../lib/messaging/outbox.ts";
import type { Runtime } from "../../lib/runtime.ts";
import { eventually, startTestSystem, type TestSystem } from "../support/system.ts";
import { ExpositionError, parsePrometheusText, samplesOf, type Family } from "./prometheus-text.ts";

let sys: TestSystem;
test.before(async () => {
  sys = await startTestSystem();
});
test.after.always(async () => {
  await sys?.stop();
});

const scrape = async (url = `${sys.url}/metrics`) => {
  const response = await fetch(url);
  const text = await response.text();
  return { status: response.status, contentType: response.headers.get("content-type"), families: parsePrometheusText(text), text };
};

const ticket = () => ({
  ticket_id: randomUUID(),
  status: "confirmed",
  price: { amount: "50.30", currency: "EUR" },
  customer_email: "metrics@example.com",
  booking_id: randomUUID(),
});

const labelNamesOf = (family: Family | undefined) => [...new Set(family?.samples.flatMap((s) => Object.keys(s.labels)) ?? [])].sort();

test.serial("the parser refuses what a scraper would refuse", (t) => {
  const bad = [
    "# TYPE a counter\n# TYPE a counter\na 1\n",
    "a 1\n# TYPE a counter\n",
    "a 1\nb 1\na 2\n",
    'a{x="1"} 1\na{x="1"} 2\n',
    '# TYPE h histogram\nh_bucket{le="1"} 2\nh_bucket{le="+Inf"} 1\nh_sum 1\nh_count 1\n',
    '# TYPE h histogram\nh_bucket{le="1"} 1\nh_sum 1\nh_count 1\n',
    '# TYPE h histogram\nh{quantile="0.5"} 1\n',
    "# TYPE s summary\ns 1\n",
    'a{x="\\q"} 1\n',
    "a one\n",
  ];
  for (const text of bad) t.throws(() => parsePrometheusText(text), { instanceOf: ExpositionError }, text);
  const good = parsePrometheusText(
    '# HELP s d\n# TYPE s summary\ns{quantile="0.5",x="a\\"b"} 1\ns_sum{x="a\\"b"} 2\ns_count{x="a\\"b"} 3\n',
  );
  t.is(good.get("s")!.samples[0]!.labels.x, 'a"b');
});

test.serial(
  "after a tickets-status flow, /metrics is one valid exposition with the original's handler metrics, Moleculer's and HTTP ones",
  async (t) => {
    const confirmed = ticket();
    const ok = await sys.http("POST", "/api/tickets-status", { tickets: [confirmed] }, { "Idempotency-Key": randomUUID() });
    t.is(ok.status, 200);
    const rejected = await sys.http(
      "POST",
      "/api/tickets-status",
      { tickets: [{ ...ticket(), price: { amount: "x", currency: "EUR" } }] },
      { "Idempotency-Key": randomUUID() },
    );
    t.is(rejected.status, 400);
    const unknownBooking = randomUUID();
    t.is((await sys.http("GET", `/api/ops/bookings/${unknownBooking}`)).status, 404);

    const topic = sys.node.runtime.topology.subject("event", TicketBookingConfirmed_v1.name);
    const handled = { topic, handler: "StoreTicket" };
    const { status, contentType, families, text } = (await eventually(async () => {
      const result = await scrape();
      return samplesOf(result.families, "messages_processed_total", handled).length > 0 ? result : undefined;
    }))!;
    t.is(status, 200);
    t.regex(contentType ?? "", /^text\/plain; version=0\.0\.4/);

    // The original's handler metrics: names, types, exactly the labels topic and handler, summary objectives.
    t.is(families.get("messages_processed_total")?.type, "counter");
    t.is(families.get("messages_processing_failed_total")?.type, "counter");
    t.is(families.get("messages_processing_duration_seconds")?.type, "summary");
    t.deepEqual(labelNamesOf(families.get("messages_processed_total")), ["handler", "topic"]);
    t.true(samplesOf(families, "messages_processed_total", handled)[0]!.value >= 1);
    const quantiles = samplesOf(families, "messages_processing_duration_seconds", handled)
      .map((s) => s.labels.quantile)
      .sort();
    t.deepEqual(quantiles, ["0.5", "0.9", "0.99"]);
    t.true(samplesOf(families, "messages_processing_duration_seconds_count", handled)[0]!.value >= 1);
    t.is(samplesOf(families, "messages_processing_duration_seconds_sum", handled).length, 1);
    for (const handler of ["IssueReceipt", "PrintTicket", "AppendToTracker"]) {
      await eventually(async () => samplesOf((await scrape()).families, "messages_processed_total", { topic, handler }).length === 1);
    }

    // Moleculer's built-in metrics: requests, latency and errors per action.
    const calls = samplesOf(families, "moleculer_request_total", { action: "tickets.updateStatus" });
    t.true(calls.reduce((sum, s) => sum + s.value, 0) >= 2);
    t.is(families.get("moleculer_request_time")?.type, "histogram");
    t.true(samplesOf(families, "moleculer_request_time_count", { action: "tickets.updateStatus" }).length > 0);
    t.true(samplesOf(families, "moleculer_request_error_total", { action: "tickets.updateStatus", errorCode: "400" })[0]!.value >= 1);

    // HTTP requests by route alias and status; never the raw URL.
    t.deepEqual(labelNamesOf(families.get("http_requests_total")), ["method", "route", "status"]);
    t.true(samplesOf(families, "http_requests_total", { method: "POST", route: "/api/tickets-status", status: "200" })[0]!.value >= 1);
    t.true(samplesOf(families, "http_requests_total", { method: "POST", route: "/api/tickets-status", status: "400" })[0]!.value >= 1);
    t.true(samplesOf(families, "http_requests_total", { method: "GET", route: "/api/ops/bookings/:id", status: "404" })[0]!.value >= 1);
    t.false(text.includes(unknownBooking));
    t.is(families.get("http_request_duration_seconds")?.type, "histogram");

    // Scrape-time values, relay totals and Node.js defaults.
    t.is(samplesOf(families, "tickets_metrics_source_up", { source: "postgres" })[0]?.value, 1);
    t.is(families.get("outbox_pending_messages")?.type, "gauge");
    t.is(families.get("outbox_oldest_pending_age_seconds")?.type, "gauge");
    t.true(samplesOf(families, "outbox_relay_published_total")[0]!.value >= 1);
    t.is(samplesOf(families, "tickets_metrics_source_up", { source: "redis_mirror" })[0]?.value, 1);
    t.deepEqual(labelNamesOf(families.get("redis_mirror_lag_messages")), ["stream"]);
    t.deepEqual(labelNamesOf(families.get("redis_mirror_messages_total")), ["outcome"]);
    await eventually(async () => {
      const mirrored = samplesOf((await scrape()).families, "redis_mirror_lag_messages", {
        stream: sys.node.runtime.topology.streams.event,
      })[0];
      return mirrored?.value === 0;
    });
    t.is(families.get("process_cpu_user_seconds_total")?.type, "counter");
    t.is(families.get("nodejs_heap_size_total_bytes")?.type, "gauge");
  },
);

test.serial("dead letters are counted per handler from the store", async (t) => {
  await sys.node.runtime.db("dead_letters").insert([
    {
      handler: "tickets-IssueReceipt",
      service: "tickets",
      message_id: randomUUID(),
      name: "TicketBookingConfirmed_v1",
      subject: "x",
      payload: "{}",
      error: "boom",
      deliveries: 4,
    },
    {
      handler: "tickets-IssueReceipt",
      service: "tickets",
      message_id: randomUUID(),
      name: "TicketBookingConfirmed_v1",
      subject: "x",
      payload: "{}",
      error: "boom",
      deliveries: 4,
    },
    {
      handler: "tickets-PrintTicket",
      service: "tickets",
      message_id: randomUUID(),
      name: "TicketBookingConfirmed_v1",
      subject: "x",
      payload: "{}",
      error: "boom",
      deliveries: 4,
    },
  ]);
  const { families } = await scrape();
  t.is(families.get("dead_letter_messages")?.type, "gauge");
  t.is(samplesOf(families, "dead_letter_messages", { handler: "tickets-IssueReceipt" })[0]?.value, 2);
  t.is(samplesOf(families, "dead_letter_messages", { handler: "tickets-PrintTicket" })[0]?.value, 1);
  await sys.node.runtime
    .db("dead_letters")
    .whereIn("handler", ["tickets-IssueReceipt", "tickets-PrintTicket"])
    .where({ error: "boom" })
    .delete();
});

test.serial("durable consumer lag and oldest unacknowledged age come from JetStream", async (t) => {
  const { jsm } = sys.node.runtime.backbone;
  const { topology } = sys.node.runtime;
  const stream = topology.streams.event;
  // A durable nobody consumes: whatever reaches its subject stays pending.
  await jsm.consumers.add(stream, {
    durable_name: "metrics-idle",
    filter_subject: topology.subject("event", TicketBookingConfirmed_v1.name),
    ack_policy: AckPolicy.Explicit,
    deliver_policy: DeliverPolicy.New,
  });
  const confirmed = ticket();
  t.is((await sys.http("POST", "/api/tickets-status", { tickets: [confirmed] }, { "Idempotency-Key": randomUUID() })).status, 200);

  const families = (await eventually(async () => {
    const { families } = await scrape();
    const idle = samplesOf(families, "jetstream_consumer_pending_messages", { stream, durable: "metrics-idle" })[0];
    const store = samplesOf(families, "jetstream_consumer_pending_messages", { stream, durable: "tickets-StoreTicket" })[0];
    const storeInFlight = samplesOf(families, "jetstream_consumer_ack_pending_messages", { stream, durable: "tickets-StoreTicket" })[0];
    return idle?.value === 1 && store?.value === 0 && storeInFlight?.value === 0 ? families : undefined;
  }))!;
  t.is(samplesOf(families, "tickets_metrics_source_up", { source: "jetstream" })[0]?.value, 1);
  t.true(samplesOf(families, "jetstream_consumer_oldest_unacked_age_seconds", { stream, durable: "metrics-idle" })[0]!.value > 0);
  t.is(samplesOf(families, "jetstream_consumer_oldest_unacked_age_seconds", { stream, durable: "tickets-StoreTicket" })[0]!.value, 0);
  await jsm.consumers.delete(stream, "metrics-idle");
});

test.serial("a node without the api-gateway serves /metrics, /health and /ready on METRICS_PORT", async (t) => {
  const worker = await sys.startNode({ SERVICES: "tickets", METRICS_PORT: "0" });
  t.is(worker.httpPort, undefined);
  const base = `http://127.0.0.1:${worker.metricsPort}`;
  const health = await fetch(`${base}/health`);
  t.is(health.status, 200);
  t.is(await health.text(), "ok");
  const ready = await fetch(`${base}/ready`);
  t.is(ready.status, 200);
  t.like(await ready.json(), { ready: true, checks: { postgres: { status: "up" }, nats: { status: "up" }, jetstream: { status: "up" } } });
  const { status, families } = await scrape(`${base}/metrics`);
  t.is(status, 200);
  t.truthy(families.get("messages_processed_total"));
  t.true(families.get("moleculer_node_type")!.samples.every((s) => s.labels.nodeID === worker.broker.nodeID));
  t.is((await fetch(`${base}/nothing`)).status, 404);
  t.is((await fetch(`${base}/metrics`, { method: "POST" })).status, 405);
  await worker.stop();
});

test.serial("a stuck relay shows as outbox backlog and oldest age", async (t) => {
  const relay = await sys.node.runtime.ensureRelay();
  await relay.stop();
  const tickets = [ticket(), ticket()];
  await sys.node.runtime.db.transaction(async (trx) => {
    for (const t of tickets) {
      await writeToOutbox(trx, sys.node.runtime.topology, {
        contract: TicketBookingConfirmed_v1,
        body: { ...t, booking_id: t.booking_id },
      });
    }
  });
  await sys.node.runtime
    .db("outbox")
    .whereNull("published_at")
    .update({ created_at: sys.node.runtime.db.raw("now() - interval '90 seconds'") });
  const { families } = await scrape();
  t.is(samplesOf(families, "outbox_pending_messages")[0]?.value, 2);
  const age = samplesOf(families, "outbox_oldest_pending_age_seconds")[0]!.value;
  t.true(age >= 90 && age < 3600, `age ${age}`);
});

test.serial("a database that does not answer leaves its series out instead of failing the scrape", async (t) => {
  const runtime = sys.node.runtime;
  const unreachable = {
    ...runtime,
    db: Object.assign(() => undefined, { raw: () => Promise.reject(new Error("connection refused")) }),
  } as unknown as Runtime;
  const families = parsePrometheusText(await renderMetrics(sys.node.broker, unreachable));
  t.is(samplesOf(families, "tickets_metrics_source_up", { source: "postgres" })[0]?.value, 0);
  t.false(families.has("outbox_pending_messages"));
  t.false(families.has("dead_letter_messages"));
  t.truthy(families.get("messages_processed_total"));
  t.truthy(families.get("moleculer_request_total"));
});
