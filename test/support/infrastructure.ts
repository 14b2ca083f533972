import { execFileSync } from "node:child_process";
import net from "node:net";
import pg from "pg";

export interface Infrastructure {
  postgresUrl: string;
  natsUrl: string;
  redisUrl: string;
}

const defaults: Infrastructure = {
  postgresUrl: process.env.POSTGRES_URL || "postgres://postgres@127.0.0.1:5432/test",
  natsUrl: process.env.NATS_URL || "nats://127.0.0.1:4222",
  redisUrl: process.env.REDIS_URL || "redis://127.0.0.1:6379",
};

function tcpAnswers(url: string, defaultPort: number): Promise<boolean> {
  const { hostname, port } = new URL(url.split(",")[0]!);
  return new Promise((resolve) => {
    const socket = net.connect({ host: hostname, port: Number(port || defaultPort), timeout: 1500 });
    socket.once("connect", () => {
      socket.destroy();
      resolve(true);
    });
    socket.once("error", () => resolve(false));
    socket.once("timeout", () => {
      socket.destroy();
      resolve(false);
    });
  });
}

async function postgresAnswers(url: string): Promise<boolean> {
  const client = new pg.Client({ connectionString: url, connectionTimeoutMillis: 1500 });
  try {
    await client.connect();
    return true;
  } catch {
    return false;
  } finally {
    await client.end().catch(() => undefined);
  }
}

function dockerAvailable(): boolean {
  try {
    execFileSync("docker", ["info"], { stdio: "ignore", timeout: 5000 });
    return true;
  } catch {
    return false;
  }
}

/** Containers for whatever does not answer locally: the laptop case, where Docker runs but the servers don't. */
async function startContainers(missing: (keyof Infrastructure)[]): Promise<Partial<Infrastructure>> {
  const { GenericContainer, Wait } = await import("testcontainers");
  const found: Partial<Infrastructure> = {};
  if (missing.includes("postgresUrl")) {
    const c = await new GenericContainer("postgres:16-alpine")
      .withEnvironment({ POSTGRES_HOST_AUTH_METHOD: "trust", POSTGRES_DB: "test" })
      .withExposedPorts(5432)
      .withWaitStrategy(Wait.forLogMessage(/ready to accept connections/, 2))
      .start();
    found.postgresUrl = `postgres://postgres@${c.getHost()}:${c.getMappedPort(5432)}/test`;
  }
  if (missing.includes("natsUrl")) {
    const c = await new GenericContainer("nats:2.10-alpine").withCommand(["-js"]).withExposedPorts(4222).start();
    found.natsUrl = `nats://${c.getHost()}:${c.getMappedPort(4222)}`;
  }
  if (missing.includes("redisUrl")) {
    const c = await new GenericContainer("redis:7-alpine").withExposedPorts(6379).start();
    found.redisUrl = `redis://${c.getHost()}:${c.getMappedPort(6379)}`;
  }
  return found;
}

let resolved: Promise<Infrastructure> | undefined;

/**
 * The Postgres, NATS and Redis the tests use: the configured (or local) servers when they answer,
 * containers when they don't and Docker is there, otherwise one clear message naming what to start.
 */
export function infrastructure(): Promise<Infrastructure> {
  resolved ??= (async () => {
    const [postgres, nats, redis] = await Promise.all([
      postgresAnswers(defaults.postgresUrl),
      tcpAnswers(defaults.natsUrl, 4222),
      tcpAnswers(defaults.redisUrl, 6379),
    ]);
    const missing = (
      [
        ["postgresUrl", postgres],
        ["natsUrl", nats],
        ["redisUrl", redis],
      ] as const
    )
      .filter(([, up]) => !up)
      .map(([key]) => key);
    if (missing.length === 0) return defaults;
    if (dockerAvailable()) return { ...defaults, ...(await startContainers([...missing])) };
    const names = missing.map((key) => `${key.replace("Url", "")} at ${defaults[key]}`).join(", ");
    throw new Error(
      `Tests need real servers and these do not answer: ${names}. Start them (on this machine: see .ci/run), ` +
        "set POSTGRES_URL / NATS_URL / REDIS_URL to ones that do, or run Docker so testcontainers can start them.",
    );
  })();
  return resolved;
}
