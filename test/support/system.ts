import { randomBytes } from "node:crypto";
import net from "node:net";
import pg from "pg";
import { Redis } from "ioredis";
import { loadConfig, type Config } from "../../config/index.ts";
import { startGatewaySimulator, type GatewaySimulator, type GatewaySimulatorOptions } from "../../adapters/simulator/index.ts";
import { connectNats, openBackbone } from "../../lib/messaging/jetstream.ts";
import { startNode, type TicketsNode } from "../../node/start-node.ts";
import { createTopology } from "../../lib/messaging/topology.ts";
import { createDatabase, migrateToLatest, type Database } from "../../lib/database/db.ts";
import { infrastructure } from "./infrastructure.ts";

export const uniqueName = (prefix: string) => `${prefix}${randomBytes(5).toString("hex")}`;

/** A database of its own for one test file, dropped by the returned function. */
export async function createTestDatabase(): Promise<{ url: string; name: string; drop(): Promise<void> }> {
  const { postgresUrl } = await infrastructure();
  const name = uniqueName("tickets_t_");
  const admin = new pg.Client({ connectionString: postgresUrl });
  await admin.connect();
  await admin.query(`CREATE DATABASE ${name}`);
  await admin.end();
  const url = new URL(postgresUrl);
  url.pathname = `/${name}`;
  return {
    url: url.toString(),
    name,
    async drop() {
      const client = new pg.Client({ connectionString: postgresUrl });
      await client.connect();
      await client.query(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`);
      await client.end();
    },
  };
}

/** A database of its own with a pool on it (migrated unless `migrate: false`); `close()` ends the pool and drops it. */
export async function openTestDatabase(pool: { max: number }, { migrate = true } = {}): Promise<{ db: Database; close(): Promise<void> }> {
  const database = await createTestDatabase();
  const db = createDatabase(database.url, pool);
  if (migrate) await migrateToLatest(db);
  return {
    db,
    async close() {
      await db.destroy();
      await database.drop();
    },
  };
}

/** Removes the JetStream streams and Redis keys of a test namespace. */
export async function removeNamespace(namespace: string): Promise<void> {
  const { natsUrl, redisUrl } = await infrastructure();
  const topology = createTopology(namespace);
  const nc = await connectNats(natsUrl, "test-cleanup");
  try {
    const { jsm } = await openBackbone(nc);
    for (const stream of Object.values(topology.streams)) await jsm.streams.delete(stream).catch(() => undefined);
  } finally {
    await nc.close();
  }
  const redis = new Redis(redisUrl);
  try {
    const keys: string[] = [];
    let cursor = "0";
    do {
      const [next, batch] = await redis.scan(cursor, "MATCH", `${namespace}.*`, "COUNT", 1000);
      cursor = next;
      keys.push(...batch);
    } while (cursor !== "0");
    if (keys.length > 0) await redis.del(...keys);
  } finally {
    redis.disconnect();
  }
}

/** A TCP port free on 127.0.0.1 now, for a server whose address others must know before it starts. */
export async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = net.createServer();
    server.once("error", reject);
    server.listen(0, "127.0.0.1", () => {
      const { port } = server.address() as net.AddressInfo;
      server.close(() => resolve(port));
    });
  });
}

/** What one test system owns besides its nodes, and the environment that points a node at it. */
export interface IsolatedResources {
  namespace: string;
  sim: GatewaySimulator;
  /** POSTGRES_URL, NATS_URL, REDIS_URL, GATEWAY_URL and NAMESPACE of these resources. */
  env: Record<string, string>;
  release(): Promise<void>;
}

/** A database, a namespace (streams, subjects, Redis keys, Moleculer namespace) and a gateway simulator of its own. */
export async function isolatedResources(namespacePrefix: string, simulator: GatewaySimulatorOptions = {}): Promise<IsolatedResources> {
  const infra = await infrastructure();
  const database = await createTestDatabase();
  const namespace = uniqueName(namespacePrefix);
  const sim = await startGatewaySimulator({ port: 0, ...simulator });
  return {
    namespace,
    sim,
    env: { POSTGRES_URL: database.url, NATS_URL: infra.natsUrl, REDIS_URL: infra.redisUrl, GATEWAY_URL: sim.url, NAMESPACE: namespace },
    async release() {
      await sim.close();
      await removeNamespace(namespace).catch(() => undefined);
      await database.drop();
    },
  };
}

export interface HttpResult<T = any> {
  status: number;
  headers: Headers;
  body: T;
  text: string;
}

export interface TestSystem {
  node: TicketsNode;
  config: Config;
  /** Base URL of the api-gateway, e.g. http://127.0.0.1:40123 */
  url: string;
  sim: GatewaySimulator;
  namespace: string;
  http<T = any>(method: string, path: string, body?: unknown, headers?: Record<string, string>): Promise<HttpResult<T>>;
  /** Another node on the same database, namespace and gateway (a second instance, a worker). */
  startNode(env?: Record<string, string>): Promise<TicketsNode>;
  stop(): Promise<void>;
}

export interface TestSystemOptions {
  /** Extra environment for the node (SERVICES, CONSUMER_RETRY_BUDGET_MS, …). */
  env?: Record<string, string>;
  simulator?: GatewaySimulatorOptions;
  /**
   * Let the simulator's Dead Nation confirm bookings by calling the api back: the api then listens
   * on a port chosen before the simulator starts, so the simulator knows where to call.
   */
  deadNationCallbacks?: boolean;
}

/** Fast retries so failure paths finish in seconds; quiet logs unless TEST_LOG_LEVEL asks. */
const testDefaults = {
  CONSUMER_BACKOFF_MS: "50,100,200",
  CONSUMER_BACKOFF_MAX_MS: "400",
  CONSUMER_RETRY_BUDGET_MS: "350", // 4 deliveries with the backoff above
  HANDLER_POOL_MAX: "6",
  CONSUMER_ACK_WAIT_MS: "10000",
  GATEWAY_TIMEOUT_MS: "3000",
  GATEWAY_SETTLE_MS: "1500",
  GATEWAY_BREAKER_COOLDOWN_MS: "50",
  GATEWAY_BREAKER_MAX_COOLDOWN_MS: "200",
  OUTBOX_POLL_MS: "200",
  // Test files run in parallel, each with several nodes; Postgres allows 100 connections in all.
  POSTGRES_POOL_MAX: "6",
  LOG_LEVEL: process.env.TEST_LOG_LEVEL ?? "fatal",
  PORT: "0",
};

/**
 * One whole Tickets system for a test file: its own database, namespace (streams, subjects, Redis
 * keys, Moleculer namespace) and gateway simulator on a random port, torn down by `stop()`.
 */
export async function startTestSystem(options: TestSystemOptions = {}): Promise<TestSystem> {
  const callbackPort = options.deadNationCallbacks ? await freePort() : undefined;
  const resources = await isolatedResources("t", {
    ...(callbackPort !== undefined ? { callbackBaseUrl: `http://127.0.0.1:${callbackPort}` } : {}),
    signingSecret: options.env?.PARTNER_SIGNING_SECRET,
    ...options.simulator,
  });
  const { namespace, sim } = resources;
  const nodes: TicketsNode[] = [];
  const configFor = (env: Record<string, string> = {}) => loadConfig({ ...testDefaults, ...resources.env, ...options.env, ...env });
  const launch = async (env?: Record<string, string>) => {
    const node = await startNode(configFor(env));
    nodes.push(node);
    return node;
  };

  // A node that fails to start must not leave the simulator listening: it would keep the test worker alive.
  const node = await launch({ NODE_ID: `${namespace}-main`, ...(callbackPort !== undefined ? { PORT: String(callbackPort) } : {}) }).catch(
    async (error: unknown) => {
      await resources.release();
      throw error;
    },
  );
  const url = `http://127.0.0.1:${node.httpPort}`;
  return {
    node,
    config: node.config,
    url,
    sim,
    namespace,
    http: (method, path, body, headers) => httpRequest(url, method, path, body, headers),
    startNode: (env) => launch({ NODE_ID: uniqueName(`${namespace}-n`), ...env }),
    async stop() {
      await Promise.allSettled(nodes.map((n) => n.stop()));
      await resources.release();
    },
  };
}

/** One HTTP request; a JSON body is sent and read back as JSON, any other answer kept as text. */
export async function httpRequest<T = any>(
  baseUrl: string,
  method: string,
  path: string,
  body?: unknown,
  headers: Record<string, string> = {},
): Promise<HttpResult<T>> {
  const init: RequestInit = { method, headers: { ...headers } };
  if (body !== undefined) {
    init.body = typeof body === "string" ? body : JSON.stringify(body);
    (init.headers as Record<string, string>)["Content-Type"] ??= "application/json";
  }
  const response = await fetch(`${baseUrl}${path}`, init);
  const text = await response.text();
  let parsed: unknown = text;
  try {
    parsed = text ? JSON.parse(text) : undefined;
  } catch {
    /* not JSON: keep the text */
  }
  return { status: response.status, headers: response.headers, body: parsed as T, text };
}

/** Polls until `check` returns a truthy value (or stops throwing); fails with the last error after `timeoutMs`. */
export async function eventually<T>(check: () => Promise<T> | T, { timeoutMs = 15_000, intervalMs = 100 } = {}): Promise<NonNullable<T>> {
  const deadline = Date.now() + timeoutMs;
  let lastError: unknown;
  for (;;) {
    try {
      const value = await check();
      if (value) return value;
      lastError = new Error("condition still false");
    } catch (error) {
      lastError = error;
    }
    if (Date.now() > deadline) throw lastError;
    await new Promise((resolve) => setTimeout(resolve, intervalMs));
  }
}

/**
 * True when nothing is in flight: every durable consumer has acked what it was given (a message
 * waiting for its retry counts as pending) and the outbox holds nothing unrelayed. Consumers are
 * checked before and after the outbox, so a row relayed in between is not missed.
 */
export async function quiet(sys: TestSystem): Promise<boolean> {
  const consumersIdle = async () => {
    const { jsm } = sys.node.runtime.backbone;
    for (const stream of Object.values(sys.node.runtime.topology.streams)) {
      for (const info of await jsm.consumers.list(stream).next()) {
        if (info.num_pending > 0 || info.num_ack_pending > 0) return false;
      }
    }
    return true;
  };
  const outboxEmpty = async () => (await sys.node.runtime.db("outbox").whereNull("published_at").first("seq")) === undefined;
  return (await consumersIdle()) && (await outboxEmpty()) && (await consumersIdle());
}

/** Waits `ms`; used only to give a would-be duplicate time to appear before asserting there is none. */
export const settle = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));
