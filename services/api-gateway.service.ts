import type { ServerResponse } from "node:http";
import type { Context, ServiceSchema } from "moleculer";
import ApiGateway, { type ApiSettingsSchema } from "moleculer-web";
import { describeFailure, errorBody, statusOf } from "../lib/http/error-body.ts";
import { requestHeader, stampRequest, type StampedRequest } from "../lib/http/request-context.ts";
import type { RequestMeta } from "../lib/http/request-meta.ts";
import { runtimeOf } from "../lib/runtime.ts";
import { isUiPageRequest, sendUiShell, webUiServer } from "../lib/http/web-ui.ts";
import { checkAdminAccess } from "../lib/http/admin-access.ts";
import { HttpError } from "../lib/http/http-errors.ts";
import { aliasesOf, publicApi } from "../lib/http/api-routes.ts";
import { observeRequest } from "../lib/http/observe-request.ts";
import { buildOpenApiDocument, renderApiDocsPage, type OpenApiDocument } from "../lib/http/openapi.ts";
import { sendMetrics, sendReadiness } from "../lib/observability/metrics-server.ts";
import { traceCarrierOf } from "../lib/observability/tracing.ts";
import type { Config } from "../config/index.ts";

type GatewayThis = ServiceSchema & {
  broker: Context["broker"];
  settings: ApiSettingsSchema;
  openApi?: OpenApiDocument;
  resolveAlias(url: string, method?: string): unknown;
};

/** What every routed call carries in ctx.meta (lib/http/request-meta.ts); the trace continues from the HTTP span. */
function carryRequestMeta(
  ctx: Context<unknown, RequestMeta>,
  _route: unknown,
  req: StampedRequest & { originalUrl?: string },
  res: ServerResponse,
) {
  const { requestId, correlationId } = stampRequest(req, res);
  ctx.meta.requestId = requestId;
  ctx.meta.correlationId = correlationId;
  ctx.meta.idempotencyKey = requestHeader(req, "Idempotency-Key");
  ctx.meta.ifNoneMatch = requestHeader(req, "If-None-Match");
  ctx.meta.requestUrl = req.originalUrl ?? req.url;
  const { traceparent, tracestate } = traceCarrierOf();
  ctx.meta.traceparent = traceparent;
  ctx.meta.tracestate = tracestate;
}

/** The OpenAPI document of the `/api` route as this gateway serves it, built once. */
function openApiOf(service: GatewayThis): OpenApiDocument {
  const apiRoute = service.settings.routes!.find((route) => route.path === "/api")!;
  service.openApi ??= buildOpenApiDocument(apiRoute.aliases ?? {}, publicApi);
  return service.openApi;
}

/** CORS stays off unless CORS_ORIGINS names the origins (the web UI is served same-origin). */
function corsSettings(config: Config) {
  if (config.CORS_ORIGINS.length === 0) return undefined;
  return {
    origin: config.CORS_ORIGINS,
    methods: ["GET", "POST", "PUT", "DELETE"],
    allowedHeaders: ["Content-Type", "Idempotency-Key", "Correlation-ID", "traceparent", "tracestate"],
    exposedHeaders: ["Correlation-ID", "X-Request-Id", "X-Trace-ID", "Idempotent-Replayed"],
    maxAge: 600,
  };
}

/** Moleculer calls `merged` after mixing in moleculer-web and before it builds the routes; its typings omit it. */
type GatewaySchema = ServiceSchema<ApiSettingsSchema> & { merged?(this: GatewayThis, schema: ServiceSchema<ApiSettingsSchema>): void };

/**
 * The HTTP front door. Only the aliases below are reachable (mappingPolicy "restrict"); every
 * other action stays internal to the cluster.
 */
const ApiGatewayService: GatewaySchema = {
  name: "api-gateway",
  mixins: [ApiGateway],

  settings: {
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
        // The public routes and their documentation: lib/http/api-routes.ts (GET /api/openapi.json).
        aliases: {
          ...aliasesOf(publicApi),
        },
        onBeforeCall: carryRequestMeta,
      },
      {
        // Operators only: 404 without ADMIN_TOKEN, 401 without the right bearer token.
        path: "/admin",
        mappingPolicy: "restrict",
        autoAliases: false,
        bodyParsers: { json: { limit: "64kb", strict: true } },
        use: [
          function adminGate(
            this: GatewayThis,
            req: StampedRequest & { parsedUrl: string },
            res: ServerResponse,
            next: (err?: unknown) => void,
          ) {
            try {
              checkAdminAccess(runtimeOf(this.broker).config.ADMIN_TOKEN, req, res);
              // An unknown admin path is a JSON 404, not the web UI's page fallback.
              if (!this.resolveAlias(req.parsedUrl, req.method)) throw new HttpError(404, "Not found");
              next();
            } catch (error) {
              next(error);
            }
          },
        ],
        aliases: {
          "GET /outbox": "admin.outbox",
          "GET /consumers": "admin.consumers",
          "GET /dead-letters": "admin.dlqList",
          "GET /dead-letters/:id": "admin.dlqShow",
          "POST /dead-letters/:id/replay": "admin.dlqReplay",
          "DELETE /dead-letters/:id": "admin.dlqDrop",
          "POST /read-models/:name/rebuild": "admin.rebuildReadModel",
        },
        onBeforeCall: carryRequestMeta,
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
          async "GET /metrics"(this: GatewayThis, _req: StampedRequest, res: ServerResponse) {
            await sendMetrics(this.broker, runtimeOf(this.broker), res);
          },
          "GET /api/openapi.json"(this: GatewayThis, _req: StampedRequest, res: ServerResponse) {
            res.writeHead(200, { "Content-Type": "application/json; charset=utf-8" });
            res.end(JSON.stringify(openApiOf(this), null, 2));
          },
          "GET /api/docs"(this: GatewayThis, _req: StampedRequest, res: ServerResponse) {
            res.writeHead(200, { "Content-Type": "text/html; charset=utf-8" });
            res.end(renderApiDocsPage(openApiOf(this)));
          },
          async "GET /ready"(this: GatewayThis, req: StampedRequest, res: ServerResponse) {
            stampRequest(req, res);
            await sendReadiness(this.broker, runtimeOf(this.broker), res);
          },
        },
      },
    ],

    onError(this: { logger: Context["broker"]["logger"] }, req: StampedRequest, res: ServerResponse, error: Error & { code?: number }) {
      const { requestId, correlationId } = stampRequest(req, res);
      const status = statusOf(error);
      if (status >= 500) {
        this.logger.error(
          {
            status,
            err: error.message,
            causes: describeFailure(error),
            stack: error.stack,
            method: req.method,
            url: req.url,
            request_id: requestId,
            correlation_id: correlationId,
          },
          "HTTP error",
        );
      }
      // a dependency is away (Postgres restarting, circuit open): tell clients when to retry
      res.writeHead(status, { "Content-Type": "application/json; charset=utf-8", ...(status === 503 ? { "Retry-After": "1" } : {}) });
      res.end(JSON.stringify(errorBody(error)));
    },
  },

  /** Port and CORS come from the configuration, which exists only once the node runs. */
  merged(this: GatewayThis, schema: ServiceSchema<ApiSettingsSchema>) {
    const { config } = runtimeOf(this.broker);
    const cors = corsSettings(config);
    schema.settings = { ...schema.settings, port: config.PORT, ...(cors ? { cors } : {}) };
  },

  /** The browser UI (web/) for whatever no route claims; see send404 for its deep links. */
  created() {
    this.serve = webUiServer();
  },

  methods: {
    /** Every request, routed or not, runs in its HTTP server span and is counted by route and status. */
    httpHandler(this: GatewayThis, req: StampedRequest, res: ServerResponse, next?: unknown) {
      return observeRequest(req, res, () => ApiGateway.methods!.httpHandler!.call(this, req, res, next));
    },

    /** Neither routed nor a file of web/: a UI page (`/app/shows`) gets the UI's shell, anything else a JSON 404. */
    send404(req: StampedRequest, res: ServerResponse) {
      if (isUiPageRequest(req)) return sendUiShell(req, res).catch((error) => this.sendError(req, res, error));
      this.sendError(req, res, new ApiGateway.Errors.NotFoundError("NOT_FOUND"));
    },
  },
};

export default ApiGatewayService;
