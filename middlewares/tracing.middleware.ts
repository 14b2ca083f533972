import type { ActionSchema, Context, Middleware, ServiceBroker } from "moleculer";
import { SpanKind, trace } from "@opentelemetry/api";
import { API_GATEWAY } from "../config/index.ts";
import { withLogContext } from "../lib/observability/log-context.ts";
import type { MessageOrigin } from "../lib/messaging/outbox.ts";
import { contextFrom, flushTraces, initTracing, inSpan, traceCarrierOf, type TracingOptions } from "../lib/observability/tracing.ts";

/** The gateway's own dispatcher action; the HTTP server span already covers it. */
const HTTP_DISPATCH_ACTION = `${API_GATEWAY}.rest`;

/**
 * One span per local action call, continuing the caller's trace. The trace context crosses nodes
 * in ctx.meta (`traceparent`, `tracestate`), the same fields the api-gateway fills and the outbox
 * copies into message metadata, so a request stays one trace from HTTP to the last handler.
 */
export function TracingMiddleware(options: TracingOptions): Middleware {
  let nodeId = "";
  return {
    name: "OpenTelemetryTracing",

    created(broker: ServiceBroker) {
      nodeId = broker.nodeID;
      initTracing(options);
    },

    localAction(next: (ctx: Context) => Promise<unknown>, action: ActionSchema) {
      if (action.name === HTTP_DISPATCH_ACTION) return next;
      return function tracedAction(ctx: Context<unknown, MessageOrigin>) {
        const meta = ctx.meta;
        const callerTrace = { traceparent: meta.traceparent, tracestate: meta.tracestate };
        const attributes = {
          "rpc.system": "moleculer",
          "rpc.method": action.name!,
          "moleculer.node_id": nodeId,
          "moleculer.caller_node_id": ctx.nodeID ?? "",
        };
        return withLogContext({ correlationId: meta.correlationId }, () =>
          inSpan(action.name!, { kind: SpanKind.SERVER, attributes, parent: contextFrom(callerTrace) }, async () => {
            // Calls and outbox rows made by this action continue from its span; the caller's value
            // is put back so the meta merged into the caller afterwards does not carry ours.
            continueTraceIn(meta);
            try {
              return await next(ctx);
            } finally {
              meta.traceparent = callerTrace.traceparent;
              meta.tracestate = callerTrace.tracestate;
            }
          }),
        );
      };
    },

    remoteAction(next: (ctx: Context) => Promise<unknown>) {
      return function propagatedCall(ctx: Context<unknown, MessageOrigin>) {
        // A call made outside any action (a message handler) has no traceparent in its meta yet.
        if (trace.getActiveSpan()) continueTraceIn(ctx.meta);
        return next(ctx);
      };
    },

    async stopped() {
      await flushTraces();
    },
  };
}

/** Points `meta` at the active span: whatever is called or published next becomes its child. */
function continueTraceIn(meta: MessageOrigin): void {
  const { traceparent, tracestate } = traceCarrierOf();
  meta.traceparent = traceparent;
  meta.tracestate = tracestate;
}
