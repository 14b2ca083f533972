import type { ServerResponse } from "node:http";
import type { Context, ServiceSchema } from "moleculer";
import ApiGateway, { type ApiSettingsSchema } from "moleculer-web";
import { describeFailure, errorBody, errorHeaders, statusOf } from "../lib/http/error-body.ts";
import { requestHeader, stampRequest, type StampedRequest } from "../lib/http/request-context.ts";
import type { RequestMeta } from "../lib/http/request-meta.ts";
import { runtimeOf } from "../lib/runtime.ts";
import { isUiPageRequest, sendUiShell, webUiServer } from "../lib/http/web-ui.ts";
import { type AccessControl, createAccessControl } from "../lib/http/auth/index.ts";
import { authorizeAlias, guardAdminRoute, keepRawBody, seesReadinessDetails } from "../lib/http/auth/route-guards.ts";
import { sessionRoute } from "../lib/http/auth/session-route.ts";
import { withSecurity } from "../lib/http/auth/openapi-security.ts";
import { passesEdgeChecks } from "../lib/http/edge-guards.ts";
import { aliasesOf, publicApi } from "../lib/http/api-routes.ts";
import { adminApi } from "../lib/http/admin-routes.ts";
import { observeRequest } from "../lib/http/observe-request.ts";
import { buildOpenApiDocument, renderApiDocsPage, type OpenApiDocument } from "../lib/http/openapi.ts";
import { sendMetrics, sendReadiness } from "../lib/observability/metrics-server.ts";
import { traceCarrierOf } from "../lib/observability/tracing.ts";
import { API_GATEWAY } from "../config/index.ts";
import { corsPolicy } from "../lib/http/cors.ts";
import { answeredAtTheEdge } from "../lib/http/edge.ts";
import { jsonBody } from "../lib/http/json-body.ts";
import { type GatewayAlias, unroutable } from "../lib/http/method-not-allowed.ts";
import { createHttpServer } from "../lib/http/server-timeouts.ts";

type GatewayThis = ServiceSchema & {
  broker: Context["broker"];
  settings: ApiSettingsSchema;
  openApi?: OpenApiDocument;
  access: AccessControl;
  resolveAlias(url: string, method?: string): unknown;
  aliases: GatewayAlias[];
  sendError(req: unknown, res: ServerResponse, error: unknown): void;
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

/** The OpenAPI document of the `/api` and `/admin` routes as this gateway serves them, built once. */
function openApiOf(service: GatewayThis): OpenApiDocument {
  const aliases = (path: string) => service.settings.routes!.find((route) => route.path === path)!.aliases ?? {};
  service.openApi ??= withSecurity(
    buildOpenApiDocument([
      { basePath: "/api", aliases: aliases("/api"), routes: publicApi },
      { basePath: "/admin", aliases: aliases("/admin"), routes: adminApi, bearer: true },
    ]),
  );
  return service.openApi;
}

/** Moleculer calls `merged` after mixing in moleculer-web and before it builds the routes; its typings omit it. */
type GatewaySchema = ServiceSchema<ApiSettingsSchema> & { merged?(this: GatewayThis, schema: ServiceSchema<ApiSettingsSchema>): void };

/**
 * The HTTP front door. Only the aliases below are reachable (mappingPolicy "restrict"); every
 * other action stays internal to the cluster.
 */
const ApiGatewayService: GatewaySchema = {
  name: API_GATEWAY,
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
        bodyParsers: false,
        use: [jsonBody("256kb", keepRawBody)],
        authorization: "authorizeAlias",
        // The public routes and their documentation: lib/http/api-routes.ts (GET /api/openapi.json).
        aliases: {
          ...aliasesOf(publicApi),
        },
        onBeforeCall: carryRequestMeta,
      },
      {
        // Admins only: 404 in development mode, 401/403 without an admin token or session (lib/http/auth/).
        path: "/admin",
        mappingPolicy: "restrict",
        autoAliases: false,
        bodyParsers: false,
        use: [
          async function adminGate(
            this: GatewayThis,
            req: StampedRequest & { parsedUrl: string },
            res: ServerResponse,
            next: (err?: unknown) => void,
          ) {
            try {
              await guardAdminRoute(this.access, req, res);
              // An unknown admin path is a JSON 404, not the web UI's page fallback.
              if (!this.resolveAlias(req.parsedUrl, req.method)) throw unroutable(this.aliases, req.parsedUrl);
              next();
            } catch (error) {
              next(error);
            }
          },
          jsonBody("64kb"),
        ],
        // The operators' routes and their documentation: lib/http/admin-routes.ts.
        aliases: aliasesOf(adminApi),
        onBeforeCall: carryRequestMeta,
      },
      sessionRoute(),
      {
        path: "/",
        mappingPolicy: "restrict",
        autoAliases: false,
        bodyParsers: false,
        authorization: "authorizeAlias",
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
            await sendReadiness(this.broker, runtimeOf(this.broker), res, seesReadinessDetails(this.access, req));
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
      res.writeHead(status, { "Content-Type": "application/json; charset=utf-8", ...errorHeaders(error, status) });
      res.end(JSON.stringify(errorBody(error)));
    },
  },

  /** Port and CORS come from the configuration, which exists only once the node runs. */
  merged(this: GatewayThis, schema: ServiceSchema<ApiSettingsSchema>) {
    const { config } = runtimeOf(this.broker);
    const cors = corsPolicy(config.CORS_ORIGINS);
    schema.settings = { ...schema.settings, port: config.PORT, ...(cors ? { cors } : {}) };
  },

  /** The browser UI (web/) for whatever no route claims; see send404 for its deep links. */
  created() {
    this.serve = webUiServer();
    this.access = createAccessControl(runtimeOf(this.broker), this.logger);
  },

  /** Follows credential changes; says loudly when the node runs open (development mode). */
  async started() {
    await this.access.start();
  },

  async stopped() {
    await this.access.stop();
  },

  methods: {
    /** The access check of every routed alias (lib/http/auth/). */
    authorizeAlias,

    /** Every request, routed or not, runs in its HTTP server span and is counted by route and status. */
    httpHandler(this: GatewayThis, req: StampedRequest, res: ServerResponse, next?: unknown) {
      if (!passesEdgeChecks(req, res)) return;
      return observeRequest(req, res, async () => {
        const cors = corsPolicy(runtimeOf(this.broker).config.CORS_ORIGINS);
        if (answeredAtTheEdge(this, req, res, { cors, gatedRoutes: ["/admin"] })) return;
        return ApiGateway.methods!.httpHandler!.call(this, req, res, next);
      });
    },

    /** Slow and silent clients are cut off (config HTTP_*_TIMEOUT_MS). */
    createServer(this: GatewayThis & { server?: unknown; httpHandler: never }) {
      this.server = createHttpServer(this.httpHandler, runtimeOf(this.broker).config);
    },

    /** Neither routed nor a file of web/: a UI page (`/app/shows`) gets the UI's shell, anything else a JSON 404. */
    send404(req: StampedRequest, res: ServerResponse) {
      if (isUiPageRequest(req)) return sendUiShell(req, res).catch((error) => this.sendError(req, res, error));
      this.sendError(req, res, new ApiGateway.Errors.NotFoundError("NOT_FOUND"));
    },
  },
};

export default ApiGatewayService;
