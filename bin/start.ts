import { ConfigError, loadConfig } from "../config/index.ts";
import { DependencyError } from "../lib/runtime.ts";
import { startNode, type TicketsNode } from "../node/start-node.ts";

/** `npm start`: one node with the configured services; SIGTERM/SIGINT stop it gracefully, a second one forces exit. */
async function main(): Promise<void> {
  let node: TicketsNode;
  try {
    node = await startNode(loadConfig());
  } catch (error) {
    if (error instanceof ConfigError || error instanceof DependencyError) {
      console.error(`tickets: ${error.message}`);
      process.exit(1);
    }
    throw error;
  }
  const logger = node.broker.getLogger("node");
  logger.info({ http_port: node.httpPort, gateway: node.gatewayUrl }, "tickets node started");

  let signals = 0;
  const shutdown = (signal: string) => {
    signals += 1;
    if (signals > 1) {
      logger.warn({ signal }, "second signal: exiting now");
      process.exit(130);
    }
    logger.info({ signal }, "shutting down: finishing in-flight work");
    node.stop().then(
      () => process.exit(0),
      (error) => {
        logger.error({ err: String(error) }, "shutdown failed");
        process.exit(1);
      },
    );
  };
  process.on("SIGTERM", () => shutdown("SIGTERM"));
  process.on("SIGINT", () => shutdown("SIGINT"));
}

void main();
