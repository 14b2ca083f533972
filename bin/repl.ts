import type { BrokerOptions } from "moleculer";
import { ConfigError } from "../config/index.ts";
import { DependencyError } from "../lib/runtime.ts";
import { operatorCommands } from "../repl/index.ts";
import { startOperatorNode } from "../repl/operator-node.ts";

/**
 * `npm run repl`: Moleculer's REPL on a node that joins the running cluster (same NATS_URL and
 * NAMESPACE) with only the `admin` service. Besides the built-in `nodes`, `services`, `call`, …
 * it offers `outbox`, `consumers`, `dlq …` and `readmodel rebuild …` (repl/commands/).
 */
try {
  const node = await startOperatorNode();
  // Moleculer's typings say a command gets its arguments as string[]; moleculer-repl passes them by name.
  node.broker.options.replOptions = {
    delimiter: "tickets $",
    customCommands: operatorCommands as unknown as NonNullable<NonNullable<BrokerOptions["replOptions"]>["customCommands"]>,
  };
  node.broker.repl();
} catch (error) {
  if (error instanceof ConfigError || error instanceof DependencyError) {
    console.error(`tickets repl: ${error.message}`);
    process.exit(1);
  }
  throw error;
}
