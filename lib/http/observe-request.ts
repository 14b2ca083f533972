import type { ServerResponse } from "node:http";
import { context, propagation, ROOT_CONTEXT, SpanKind, SpanStatusCode, trace } from "@opentelemetry/api";
import { withLogContext } from "../observability/log-context.ts";
import { httpRequestDuration, httpRequests } from "../observability/metrics.ts";
import { tracer } from "../observability/tracing.ts";
import { stampRequest, type StampedRequest } from "./request-context.ts";

/** What moleculer-web leaves on a request it routed. */
interface RoutedRequest extends StampedRequest {
  $alias?: { fullPath?: string };
}

/** The metric and span label of a request: its alias template, never the raw URL. */
function routeOf(req: RoutedRequest): string {
  return req.$alias?.fullPath ?? "(no route)";
}

/**
 * Runs one HTTP request inside its server span (continuing an incoming `traceparent`), with its
 * correlation id on every log line, `X-Trace-ID` on the response, and the request counted by
 * route alias and status when the response is done.
 */
export function observeRequest(req: RoutedRequest, res: ServerResponse, handle: () => Promise<unknown>): Promise<unknown> {
  const { correlationId } = stampRequest(req, res);
  const parent = propagation.extract(ROOT_CONTEXT, req.headers);
  const method = req.method ?? "GET";
  const span = tracer.startSpan(
    method,
    { kind: SpanKind.SERVER, attributes: { "http.request.method": method, "url.path": (req.url ?? "/").split("?")[0] } },
    parent,
  );
  res.setHeader("X-Trace-ID", span.spanContext().traceId);
  const started = process.hrtime.bigint();

  let recorded = false;
  const record = () => {
    if (recorded) return;
    recorded = true;
    const route = routeOf(req);
    const labels = { method, route, status: String(res.statusCode) };
    httpRequests.inc(labels);
    httpRequestDuration.observe(labels, Number(process.hrtime.bigint() - started) / 1e9);
    span.updateName(`${method} ${route}`);
    span.setAttributes({ "http.route": route, "http.response.status_code": res.statusCode });
    if (res.statusCode >= 500) span.setStatus({ code: SpanStatusCode.ERROR });
    span.end();
  };
  res.once("finish", record);
  res.once("close", record);

  return context.with(trace.setSpan(parent, span), () => withLogContext({ correlationId }, handle));
}
