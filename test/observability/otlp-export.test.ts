import test from "ava";
import { createServer, type IncomingMessage, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { randomBytes, randomUUID } from "node:crypto";
import { eventually, startTestSystem, type TestSystem } from "../support/system.ts";

// Its own file, so its own process: the tracer provider of this process is the one configured
// with OTEL_EXPORTER_OTLP_ENDPOINT below.

interface Received {
  path: string;
  contentType: string;
  body: any;
}

const received: Received[] = [];
let collector: Server;
let sys: TestSystem;

test.before(async () => {
  collector = createServer(async (req: IncomingMessage, res) => {
    const chunks: Buffer[] = [];
    for await (const chunk of req) chunks.push(chunk as Buffer);
    const text = Buffer.concat(chunks).toString("utf8");
    received.push({ path: req.url ?? "", contentType: req.headers["content-type"] ?? "", body: JSON.parse(text) });
    res.writeHead(200, { "Content-Type": "application/json" }).end("{}");
  });
  await new Promise<void>((resolve) => collector.listen(0, "127.0.0.1", resolve));
  const endpoint = `http://127.0.0.1:${(collector.address() as AddressInfo).port}`;
  sys = await startTestSystem({ env: { OTEL_EXPORTER_OTLP_ENDPOINT: endpoint, SERVICES: "api,tickets" } });
});
test.after.always(async () => {
  await sys?.stop();
  collector?.close();
});

test("with OTEL_EXPORTER_OTLP_ENDPOINT set, spans reach the collector over OTLP/HTTP at <endpoint>/v1/traces", async (t) => {
  const traceId = randomBytes(16).toString("hex");
  const response = await sys.http(
    "POST",
    "/api/tickets-status",
    { tickets: [{ ticket_id: randomUUID(), status: "canceled", price: { amount: "1.00", currency: "EUR" }, customer_email: "a@b.c" }] },
    { "Idempotency-Key": randomUUID(), traceparent: `00-${traceId}-${randomBytes(8).toString("hex")}-01` },
  );
  t.is(response.status, 200);
  // Stopping a node flushes the batch processor instead of waiting for its 5 s schedule.
  await sys.node.stop();

  const spans = await eventually(() => {
    const all = received.flatMap((r) =>
      r.body.resourceSpans.flatMap((rs: any) =>
        rs.scopeSpans.flatMap((ss: any) => ss.spans.map((span: any) => ({ ...span, resource: rs.resource }))),
      ),
    );
    const ours = all.filter((span: any) => span.traceId === traceId);
    return ours.length >= 2 ? ours : undefined;
  });
  t.true(received.every((r) => r.path === "/v1/traces"));
  t.true(received.every((r) => r.contentType.startsWith("application/json")));
  const names = spans!.map((span: any) => span.name);
  t.true(names.includes("POST /api/tickets-status"), names.join(", "));
  t.true(names.includes("tickets.updateStatus"), names.join(", "));
  const serviceName = spans![0].resource.attributes.find((a: any) => a.key === "service.name");
  t.is(serviceName?.value?.stringValue, "tickets");
});
