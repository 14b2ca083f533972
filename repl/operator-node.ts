import { hostname } from "node:os";
import { loadConfig } from "../config/index.ts";
import { startNode, type TicketsNode } from "../node/start-node.ts";

/**
 * The operator's node: joins the cluster named by NATS_URL and NAMESPACE with only the `admin`
 * service, so the REPL's commands work whatever the other nodes run. It never starts the gateway
 * simulator (it makes no gateway calls) and logs only warnings unless LOG_LEVEL says otherwise,
 * so log lines do not bury the REPL's tables.
 */
export async function startOperatorNode(env: NodeJS.ProcessEnv = process.env): Promise<TicketsNode> {
  return startNode(
    loadConfig({
      LOG_LEVEL: "warn",
      NODE_ID: `repl-${hostname()}-${process.pid}`,
      GATEWAY_URL: "http://127.0.0.1:8888",
      ...env,
      SERVICES: "admin",
    }),
  );
}
