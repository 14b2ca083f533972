import type { IncomingMessage, ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";
import type { Context, ServiceSchema } from "moleculer";
import ApiGateway, { type ApiSettingsSchema } from "moleculer-web";
import { errorBody, statusOf } from "../lib/http/error-body.ts";
import { requestHeader, stampRequest, type StampedRequest } from "../lib/http/request-context.ts";
import type { RequestMeta } from "../lib/request-meta.ts";
import { runtimeOf } from "../lib/runtime.ts";
import { readiness } from "../lib/readiness.ts";

/**
 * The HTTP front door. Only the aliases below are reachable (mappingPolicy "restrict"); every
 * other action stays internal to the cluster.
 */
const ApiGatewayService: ServiceSchema<ApiSettingsSchema> = {
  name: "api",
  mixins: [ApiGateway],

  settings: {
    port: 8080,
    ip: "0.0.0.0",
    log4XXResponses: false,
    logRequestParams: null,
    logResponseData: null,

    routes: [
      {
        path: "/api",
        mappingPolicy: "restrict",
        autoAliases: false,
        bodyParsers: { json: { limit: "256kb", strict: true } },
        aliases: {
          "POST /tickets-status": "tickets.updateStatus",
          "GET /tickets": "tickets.list",
          "PUT /ticket-refund/:ticket_id": "refunds.requestRefund",
        },
        onBeforeCall(ctx: Context<unknown, RequestMeta>, _route: unknown, req: StampedRequest, res: ServerResponse) {
          const { requestId, correlationId } = stampRequest(req, res);
          ctx.meta.requestId = requestId;
          ctx.meta.correlationId = correlationId;
          ctx.meta.idempotencyKey = requestHeader(req, "Idempotency-Key");
          ctx.meta.traceparent = requestHeader(req, "traceparent");
          ctx.meta.tracestate = requestHeader(req, "tracestate");
        },
      },
      {
        path: "/",
        mappingPolicy: "restrict",
        autoAliases: false,
        bodyParsers: false,
        aliases: {
          "GET /health"(req: StampedRequest, res: ServerResponse) {
            stampRequest(req, res);
            res.setHeader("Content-Type", "text/plain; charset=utf-8");
            res.end("ok");
          },
          async "GET /ready"(this: ServiceSchema & { broker: Context["broker"] }, req: StampedRequest, res: ServerResponse) {
            stampRequest(req, res);
            const report = await readiness(this.broker, runtimeOf(this.broker));
            res.writeHead(report.ready ? 200 : 503, { "Content-Type": "application/json; charset=utf-8" });
            res.end(JSON.stringify(report));
          },
        },
      },
    ],

    onError(this: { logger: Context["broker"]["logger"] }, req: StampedRequest, res: ServerResponse, error: Error & { code?: number }) {
      const { requestId, correlationId } = stampRequest(req, res);
      const status = statusOf(error);
      if (status >= 500) this.logger.error({ err: error.message, stack: error.stack, request_id: requestId, correlation_id: correlationId }, "HTTP error");
      res.writeHead(status, { "Content-Type": "application/json; charset=utf-8" });
      res.end(JSON.stringify(errorBody(error)));
    },
  },

  methods: {
    /** The bound port (the setting may be 0 in tests). */
    boundPort(): number {
      return (this.server.address() as AddressInfo).port;
    },
  },
};

export type ApiRequest = IncomingMessage;
export default ApiGatewayService;
