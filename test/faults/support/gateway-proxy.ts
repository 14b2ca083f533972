/**
 * A transparent HTTP proxy between the nodes and the gateway simulator, for faults the simulator
 * has no switch for: it can hold every response after the simulator applied the effect (a node
 * killed there dies between its gateway call and its ack), and it can refuse every call whose body
 * names something (a handler that always fails for one message while the rest flows).
 */
import { createServer, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";

export interface GatewayProxy {
  url: string;
  /** Hold responses from now on; the simulator has applied each effect before it is held. */
  holdResponses(): void;
  /** How many responses are being held right now. */
  readonly held: number;
  /** Stop holding: the held connections are dropped (their callers are dead by then anyway). */
  releaseHeld(): void;
  /** Answer `status` without reaching the simulator for every call whose body contains `needle`. */
  refuseCallsMentioning(needle: string, status?: number): void;
  /** Calls refused so far, by request path: how hard the nodes knock on a partner that is down. */
  readonly refusedCalls: Map<string, number>;
  allowAll(): void;
  close(): Promise<void>;
}

export async function startGatewayProxy(targetUrl: string): Promise<GatewayProxy> {
  let holding = false;
  const held = new Set<ServerResponse>();
  const refusals = new Map<string, number>();
  const refusedCalls = new Map<string, number>();

  const server = createServer(async (req, res) => {
    const chunks: Buffer[] = [];
    for await (const chunk of req) chunks.push(chunk as Buffer);
    const body = Buffer.concat(chunks);
    const text = body.toString();
    for (const [needle, status] of refusals) {
      if (text.includes(needle)) {
        const path = (req.url ?? "").split("?")[0]!;
        refusedCalls.set(path, (refusedCalls.get(path) ?? 0) + 1);
        res.writeHead(status, { "Content-Type": "application/json" }).end(JSON.stringify({ error: "refused by the fault proxy" }));
        return;
      }
    }
    const headers: Record<string, string> = {};
    for (const [name, value] of Object.entries(req.headers)) {
      if (typeof value === "string" && !["host", "connection", "content-length", "transfer-encoding"].includes(name)) headers[name] = value;
    }
    try {
      const upstream = await fetch(`${targetUrl}${req.url}`, { method: req.method, headers, body: body.length > 0 ? body : undefined });
      const reply = Buffer.from(await upstream.arrayBuffer());
      if (holding) {
        held.add(res);
        res.once("close", () => held.delete(res));
        return;
      }
      res.writeHead(upstream.status, { "Content-Type": upstream.headers.get("content-type") ?? "application/json" }).end(reply);
    } catch (error) {
      if (!res.headersSent) res.writeHead(502).end(String(error));
    }
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    holdResponses: () => {
      holding = true;
    },
    get held() {
      return held.size;
    },
    releaseHeld() {
      holding = false;
      for (const res of held) res.destroy();
      held.clear();
    },
    refuseCallsMentioning: (needle, status = 500) => void refusals.set(needle, status),
    refusedCalls,
    allowAll: () => refusals.clear(),
    async close() {
      for (const res of held) res.destroy();
      server.closeAllConnections();
      await new Promise((resolve) => server.close(resolve));
    },
  };
}
