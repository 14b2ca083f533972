import http, { type RequestListener } from "node:http";

export interface HttpTimeouts {
  HTTP_HEADERS_TIMEOUT_MS: number;
  HTTP_REQUEST_TIMEOUT_MS: number;
  HTTP_IDLE_TIMEOUT_MS: number;
}

/**
 * The api-gateway's HTTP server, cutting off clients that never finish their headers or body
 * (408, then close) and sockets that stay silent. Node checks those deadlines every
 * `connectionsCheckingInterval`, 30 s by default; a second keeps the cut-off close to the deadline.
 */
export function createHttpServer(handler: RequestListener, timeouts: HttpTimeouts): http.Server {
  const server = http.createServer(
    {
      headersTimeout: timeouts.HTTP_HEADERS_TIMEOUT_MS,
      requestTimeout: Math.max(timeouts.HTTP_REQUEST_TIMEOUT_MS, timeouts.HTTP_HEADERS_TIMEOUT_MS),
      connectionsCheckingInterval: Math.min(1000, timeouts.HTTP_HEADERS_TIMEOUT_MS),
    },
    handler,
  );
  server.setTimeout(timeouts.HTTP_IDLE_TIMEOUT_MS);
  return server;
}
