/**
 * One Tickets system on private servers for a fault test: its own Postgres cluster, nats-server
 * (or three-server cluster), redis-server and gateway simulator (behind a fault proxy), with node
 * processes (`bin/start.ts`) the test can SIGKILL. `stop()` takes everything down; call it from
 * `test.after.always` so it runs when the test fails too.
 */
import { appendFileSync } from "node:fs";
import moleculer from "moleculer";
import { loadConfig } from "../../../config/index.ts";
import { spawnNodeProcess, type NodeProcess } from "../../../lib/cluster/node-process.ts";
import { createDatabase, migrateToLatest, type Database } from "../../../lib/database/db.ts";
import { startGatewaySimulator, type GatewaySimulator } from "../../../adapters/simulator/index.ts";
import { connectNats } from "../../../lib/messaging/jetstream.ts";
import { createTopology, type Topology } from "../../../lib/messaging/topology.ts";
import { brokerOptions } from "../../../moleculer.config.ts";
import { startGatewayProxy, type GatewayProxy } from "./gateway-proxy.ts";
import { freePort } from "../../support/system.ts";
import {
  startNats,
  startNatsCluster,
  startPostgres,
  startRedis,
  type PrivateNats,
  type PrivateNatsCluster,
  type PrivatePostgres,
  type PrivateRedis,
} from "./servers.ts";
import type { NatsConnection } from "@nats-io/transport-node";

const { ServiceBroker } = moleculer;

/**
 * The api node: HTTP, the Dead Nation callbacks and every service whose effects the checker counts.
 * The ops read model is left out: it dead-letters confirmations that name no booking (seed
 * behaviour), which the tickets-status traffic sends on purpose.
 */
export const API_NODE_SERVICES = ["api", "tickets", "shows", "bookings", "datalake"];

/** Fast retries and redeliveries, so a fault resolves within seconds. */
const faultDefaults: Record<string, string> = {
  NAMESPACE: "",
  CONSUMER_BACKOFF_MS: "50,100,200",
  CONSUMER_BACKOFF_MAX_MS: "400",
  CONSUMER_RETRY_BUDGET_MS: "1150", // 6 deliveries with the backoff above
  // a partner's circuit reopens within the budget
  GATEWAY_BREAKER_COOLDOWN_MS: "50",
  GATEWAY_BREAKER_MAX_COOLDOWN_MS: "200",
  HANDLER_POOL_MAX: "6",
  CONSUMER_ACK_WAIT_MS: "3000",
  // Dead Nation takes no idempotency key, so a booking call that times out is parked in the dead letters: the
  // simulator shares this machine's two cores with every node, and a Postgres restart's retry storm
  // can hold its answers past one second. Slow partners are their own tests' subject.
  GATEWAY_TIMEOUT_MS: "2000",
  // a partner given up on may still be applying the call; its read-back waits this long (overloaded, it lags)
  GATEWAY_SETTLE_MS: "3000",
  OUTBOX_POLL_MS: "200",
  REQUEST_TIMEOUT_MS: "5000",
  LOG_LEVEL: process.env.TEST_LOG_LEVEL ?? "warn",
};

export interface FaultSystemOptions {
  /** A three-server JetStream cluster instead of one nats-server (sets JETSTREAM_REPLICAS=3). */
  natsCluster?: boolean;
  /** Environment of every node on top of the fault defaults. */
  env?: Record<string, string>;
  /** Simulated gateway latency (ms) before each effect. */
  gatewayLatencyMs?: number;
}

export interface FaultNode {
  name: string;
  process: NodeProcess;
  services: string[];
}

export interface FaultSystem {
  postgres: PrivatePostgres;
  nats?: PrivateNats;
  natsCluster?: PrivateNatsCluster;
  redis: PrivateRedis;
  sim: GatewaySimulator;
  proxy: GatewayProxy;
  natsUrl: string;
  /** The api node's base URL (the port stays the same when the api node is restarted). */
  apiUrl: string;
  topology: Topology;
  /** The test's own connection to the private database, for seeding and checking. */
  db: Database;
  nodes: Map<string, FaultNode>;
  /** Starts a node process and waits until its /ready answers 200. */
  startNode(name: string, services: string[], env?: Record<string, string>): Promise<FaultNode>;
  /** A NATS connection of the test's own (reconnects across restarts). */
  natsConnection(): Promise<NatsConnection>;
  /** A broker without services in the system's Moleculer namespace, to call actions as the REPL does. */
  caller(): Promise<InstanceType<typeof ServiceBroker>>;
  /** The last lines of every node and server, for a failing test's log. */
  diagnostics(): string[];
  stop(): Promise<void>;
}

const nodeLogFile = process.env.FAULT_NODE_LOG;

const livingNodes = new Set<NodeProcess>();
process.once("exit", () => {
  for (const node of livingNodes) if (node.child.exitCode === null) node.child.kill("SIGKILL");
});

export async function startFaultSystem(options: FaultSystemOptions = {}): Promise<FaultSystem> {
  const cleanups: (() => Promise<unknown>)[] = [];
  const stopAll = async () => {
    for (const cleanup of cleanups.reverse()) await cleanup().catch(() => undefined);
    cleanups.length = 0;
  };
  try {
    const [postgres, redis] = await Promise.all([startPostgres(), startRedis()]);
    cleanups.push(
      () => postgres.remove(),
      () => redis.remove(),
    );
    let nats: PrivateNats | undefined;
    let natsCluster: PrivateNatsCluster | undefined;
    if (options.natsCluster) {
      natsCluster = await startNatsCluster(3);
      cleanups.push(() => natsCluster!.remove());
    } else {
      nats = await startNats();
      cleanups.push(() => nats!.remove());
    }
    const natsUrl = natsCluster?.url ?? nats!.url;
    const apiPort = await freePort();
    const apiUrl = `http://127.0.0.1:${apiPort}`;
    const sim = await startGatewaySimulator({ port: 0, latencyMs: options.gatewayLatencyMs ?? 0, callbackBaseUrl: apiUrl });
    cleanups.push(() => sim.close());
    const proxy = await startGatewayProxy(sim.url);
    cleanups.push(() => proxy.close());
    const db = createDatabase(postgres.url, { max: 5 });
    cleanups.push(() => db.destroy());
    // Migrated once here, so the nodes (and the test's seeding) start on the full schema.
    await migrateToLatest(db);

    const env = {
      ...faultDefaults,
      POSTGRES_URL: postgres.url,
      NATS_URL: natsUrl,
      REDIS_URL: redis.url,
      GATEWAY_URL: proxy.url,
      ...(options.natsCluster ? { JETSTREAM_REPLICAS: "3" } : {}),
      ...options.env,
    };
    const nodes = new Map<string, FaultNode>();
    const output: string[] = [];
    const connections: NatsConnection[] = [];
    const brokers: InstanceType<typeof ServiceBroker>[] = [];
    cleanups.push(async () => {
      await Promise.allSettled(brokers.map((b) => b.stop()));
      await Promise.allSettled(connections.map((c) => c.close()));
    });
    cleanups.push(async () => {
      await Promise.allSettled(
        [...nodes.values()].map(async ({ process: node }) => {
          await Promise.race([node.stop(), new Promise((resolve) => setTimeout(resolve, 10_000).unref())]);
          await node.kill();
          livingNodes.delete(node);
        }),
      );
    });

    const system: FaultSystem = {
      postgres,
      nats,
      natsCluster,
      redis,
      sim,
      proxy,
      natsUrl,
      apiUrl,
      topology: createTopology(""),
      db,
      nodes,
      async startNode(name, services, extraEnv = {}) {
        const metricsPort = await freePort();
        const process_ = spawnNodeProcess({
          name,
          env: {
            ...env,
            ...extraEnv,
            NODE_ID: name,
            SERVICES: services.join(","),
            PORT: services.some((s) => s === "api" || s === "api-gateway") ? String(apiPort) : "0",
            METRICS_PORT: String(metricsPort),
          },
          onLine: (line) => {
            output.push(`${name} | ${line}`);
            // the failing test's log keeps only the last lines; FAULT_NODE_LOG=<file> keeps every one
            if (nodeLogFile) appendFileSync(nodeLogFile, `${name} | ${line}\n`);
            if (output.length > 2000) output.splice(0, 1000);
          },
        });
        livingNodes.add(process_);
        const node = { name, process: process_, services };
        nodes.set(name, node);
        const deadline = Date.now() + 60_000;
        for (;;) {
          if (process_.child.exitCode !== null)
            throw new Error(`node ${name} exited with ${process_.child.exitCode}:\n${output.slice(-20).join("\n")}`);
          const ready = await fetch(`http://127.0.0.1:${metricsPort}/ready`).then(
            (r) => r.ok,
            () => false,
          );
          if (ready) return node;
          if (Date.now() > deadline) throw new Error(`node ${name} not ready within 60 s:\n${output.slice(-20).join("\n")}`);
          await new Promise((resolve) => setTimeout(resolve, 200));
        }
      },
      async natsConnection() {
        const nc = await connectNats(natsUrl, "fault-test");
        connections.push(nc);
        return nc;
      },
      async caller() {
        const broker = new ServiceBroker({
          ...brokerOptions(loadConfig({ ...env, NODE_ID: `fault-caller-${brokers.length}`, LOG_LEVEL: "fatal" })),
        });
        brokers.push(broker);
        await broker.start();
        return broker;
      },
      diagnostics() {
        const servers = [
          ...postgres.output(),
          ...redis.output(),
          ...(nats?.output() ?? []),
          ...(natsCluster?.servers.flatMap((s) => s.output()) ?? []),
        ];
        return [...output.slice(-80), ...servers.slice(-40)];
      },
      stop: stopAll,
    };
    return system;
  } catch (error) {
    await stopAll();
    throw error;
  }
}
