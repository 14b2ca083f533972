import { loadConfig } from "../../config/index.ts";
import { spawnNodeProcess, type NodeProcess } from "../../lib/cluster/node-process.ts";
import type { GatewaySimulator } from "../../adapters/simulator/index.ts";
import { startNode, type TicketsNode } from "../../node/start-node.ts";
import { eventually, freePort, isolatedResources } from "../support/system.ts";

/**
 * Several Tickets node processes (`bin/start.ts`) on their own database, namespace and gateway
 * simulator, plus an in-process observer node running only `admin`, used to watch the cluster
 * (registry, per-node handler counters) the way the operator's REPL does.
 */
export interface LocalCluster {
  namespace: string;
  /** Base URL of the gateway node's HTTP api. */
  url: string;
  sim: GatewaySimulator;
  observer: TicketsNode;
  processes: Map<string, NodeProcess>;
  /** Every output line of every node, prefixed with its name: printed when a test fails. */
  output: string[];
  /** Starts a node process (extra `env` on top of the cluster's) and waits until the observer sees its services, by their Moleculer names (`api-gateway`, not the alias `api`). */
  startNode(name: string, services: string[], env?: Record<string, string>): Promise<NodeProcess>;
  /** Node ids the observer currently sees as alive and running `service`. */
  nodesRunning(service: string): string[];
  stop(): Promise<void>;
}

export interface LocalClusterOptions {
  /** Environment for every node process on top of the cluster's own. */
  env?: Record<string, string>;
}

/**
 * Fast retries and redeliveries, so a killed node's messages come back within seconds. The retry
 * budget (about 12 s) outlasts the ack wait: a handler waiting for an event that a killed node held
 * must still be retrying when that event is redelivered, as with the production defaults. The
 * gateway timeout is not short: a Dead Nation call that times out is parked in doubt, by design,
 * and with 1 s a loaded CI machine parked bookings of the kill test before anything was killed.
 */
const clusterTestDefaults = {
  CONSUMER_BACKOFF_MS: "50,100,200",
  CONSUMER_BACKOFF_MAX_MS: "400",
  CONSUMER_RETRY_BUDGET_MS: "12350", // 34 deliveries with the backoff above
  GATEWAY_BREAKER_COOLDOWN_MS: "50",
  GATEWAY_BREAKER_MAX_COOLDOWN_MS: "200",
  HANDLER_POOL_MAX: "6",
  CONSUMER_ACK_WAIT_MS: "6000",
  GATEWAY_TIMEOUT_MS: "4000",
  // a partner given up on may still be applying the call; its read-back waits this long (overloaded, it lags)
  GATEWAY_SETTLE_MS: "3000",
  OUTBOX_POLL_MS: "200",
  // other test files run beside this one; Postgres allows 100 connections in all
  POSTGRES_POOL_MAX: "8",
  LOG_LEVEL: process.env.TEST_LOG_LEVEL ?? "error",
};

export async function startLocalCluster(options: LocalClusterOptions = {}): Promise<LocalCluster> {
  const port = await freePort();
  const resources = await isolatedResources("c", { callbackBaseUrl: `http://127.0.0.1:${port}` });
  const { namespace, sim } = resources;
  const shared = { ...clusterTestDefaults, ...resources.env, ...options.env };
  const output: string[] = [];
  const processes = new Map<string, NodeProcess>();
  const observer = await startNode(loadConfig({ ...shared, SERVICES: "admin", NODE_ID: `${namespace}-observer`, LOG_LEVEL: "fatal" }));

  const nodesRunning = (service: string) =>
    observer.broker.registry
      .getNodeList({ onlyAvailable: true, withServices: true })
      .filter((node) => node.services.some((s) => s.name === service))
      .map((node) => node.id);

  const cluster: LocalCluster = {
    namespace,
    url: `http://127.0.0.1:${port}`,
    sim,
    observer,
    processes,
    output,
    nodesRunning,
    async startNode(name, services, env = {}) {
      const node = spawnNodeProcess({
        name,
        env: {
          ...shared,
          NODE_ID: name,
          SERVICES: services.join(","),
          PORT: services.some((s) => s === "api" || s === "api-gateway") ? String(port) : "0",
          ...env,
        },
        onLine: (line) => output.push(`${name} | ${line}`),
      });
      processes.set(name, node);
      await eventually(
        async () => {
          if (node.child.exitCode !== null) throw new Error(`${name} exited with ${node.child.exitCode}`);
          return services.every((service) => nodesRunning(service).includes(name));
        },
        { timeoutMs: 60_000 },
      );
      return node;
    },
    async stop() {
      // A node that cannot stop gracefully in time is killed, so a failing test still cleans up.
      await Promise.allSettled(
        [...processes.values()].map((node) =>
          Promise.race([node.stop(), new Promise((resolve) => setTimeout(resolve, 20_000).unref())]).then(() => node.kill()),
        ),
      );
      await observer.stop();
      await resources.release();
    },
  };
  return cluster;
}
