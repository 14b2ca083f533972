import { createServer, type IncomingMessage, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";
import type { ServiceBroker } from "moleculer";
import { errorMessage } from "../errors.ts";
import { METRICS_CONTENT_TYPE, renderMetrics } from "./metrics-exposition.ts";
import { readiness } from "./readiness.ts";
import type { Runtime } from "../runtime.ts";

/** Answers GET /metrics with the node's exposition (shared by the api-gateway and the metrics port). */
export async function sendMetrics(broker: ServiceBroker, runtime: Runtime, res: ServerResponse): Promise<void> {
  const body = await renderMetrics(broker, runtime);
  res.writeHead(200, { "Content-Type": METRICS_CONTENT_TYPE, "Cache-Control": "no-store" });
  res.end(body);
}

/**
 * Answers GET /ready: 200 when this node can do its work, 503 otherwise, with every check when
 * `detailed` (the metrics port, a scraper, an admin); others learn only ready or not, and the access mode.
 */
export async function sendReadiness(broker: ServiceBroker, runtime: Runtime, res: ServerResponse, detailed = true): Promise<void> {
  const report = await readiness(broker, runtime);
  res.writeHead(report.ready ? 200 : 503, { "Content-Type": "application/json; charset=utf-8", "Cache-Control": "no-store" });
  res.end(JSON.stringify(detailed ? report : { ready: report.ready, access: report.access }));
}

export interface OpsServer {
  port: number;
  close(): Promise<void>;
}

/**
 * The small HTTP server of METRICS_PORT: /metrics, /health and /ready on any node, so worker nodes
 * without the api-gateway can be scraped and probed too.
 */
export async function startOpsServer(broker: ServiceBroker, runtime: Runtime, port: number): Promise<OpsServer> {
  const logger = broker.getLogger("ops-http");
  const server = createServer((req: IncomingMessage, res: ServerResponse) => {
    const path = new URL(req.url ?? "/", "http://node").pathname;
    const answer = async () => {
      if (req.method !== "GET" && req.method !== "HEAD") return sendJson(res, 405, { error: "Method Not Allowed" });
      if (path === "/metrics") return sendMetrics(broker, runtime, res);
      if (path === "/ready") return sendReadiness(broker, runtime, res);
      if (path === "/health") {
        res.writeHead(200, { "Content-Type": "text/plain; charset=utf-8" });
        return void res.end("ok");
      }
      sendJson(res, 404, { error: "Not found" });
    };
    answer().catch((error) => {
      logger.error({ err: errorMessage(error), path }, "ops endpoint failed");
      if (!res.headersSent) sendJson(res, 500, { error: "Internal server error" });
      else res.destroy();
    });
  });
  await new Promise<void>((resolve, reject) => {
    server.once("error", reject);
    server.listen(port, "0.0.0.0", () => resolve());
  });
  const bound = (server.address() as AddressInfo).port;
  logger.info({ port: bound }, "metrics and readiness port listening");
  return {
    port: bound,
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      }),
  };
}

function sendJson(res: ServerResponse, status: number, body: unknown): void {
  res.writeHead(status, { "Content-Type": "application/json; charset=utf-8" });
  res.end(JSON.stringify(body));
}
