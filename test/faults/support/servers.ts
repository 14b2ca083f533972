/**
 * Private servers for fault tests: nats-server (single or a three-server JetStream cluster),
 * redis-server and a Postgres cluster of their own, on spare loopback ports with temporary data
 * directories, so faults never touch the shared servers. Every server is started with
 * `setpriv --pdeathsig KILL`, so it dies with the test process even when that is killed, and is
 * also stopped on exit; tests stop them in `test.after.always` / `t.teardown` as well.
 */
import { execFile, execFileSync, spawn, type ChildProcess } from "node:child_process";
import { chownSync, mkdirSync, mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { setTimeout as delay } from "node:timers/promises";
import { promisify } from "node:util";
import { jetstreamManager } from "@nats-io/jetstream";
import { connect } from "@nats-io/transport-node";
import { Redis } from "ioredis";
import pg from "pg";
import { freePort } from "../../support/system.ts";

const NATS_SERVER = "/usr/sbin/nats-server";
const POSTGRES_BIN = "/usr/lib/postgresql/15/bin";
const execFileAsync = promisify(execFile);

/** Everything started here, so an exiting test process takes it down even without cleanup. */
const living = new Set<{ forceStop(): void }>();
let exitHookInstalled = false;
function track(server: { forceStop(): void }): void {
  living.add(server);
  if (exitHookInstalled) return;
  exitHookInstalled = true;
  process.once("exit", () => {
    for (const s of living) s.forceStop();
  });
}

function tempDir(prefix: string): string {
  return mkdtempSync(join(tmpdir(), prefix));
}

async function waitUntil(what: string, check: () => Promise<boolean>, timeoutMs = 30_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    if (await check().catch(() => false)) return;
    if (Date.now() > deadline) throw new Error(`${what} did not come up within ${timeoutMs} ms`);
    await delay(100);
  }
}

/** A child process that dies with us (PR_SET_PDEATHSIG), its output kept for failure reports. */
class Supervised {
  child?: ChildProcess;
  readonly output: string[] = [];
  private exited?: Promise<void>;

  constructor(
    readonly label: string,
    private readonly command: string,
    private readonly args: string[],
    private readonly user?: string,
  ) {}

  start(): void {
    const identity = this.user ? ["--reuid", this.user, "--regid", this.user, "--init-groups"] : [];
    const child = spawn("setpriv", [...identity, "--pdeathsig", "KILL", "--", this.command, ...this.args], {
      stdio: ["ignore", "pipe", "pipe"],
    });
    const keep = (chunk: Buffer) => {
      this.output.push(
        ...chunk
          .toString()
          .split("\n")
          .filter(Boolean)
          .map((line) => `${this.label} | ${line}`),
      );
      if (this.output.length > 400) this.output.splice(0, this.output.length - 400);
    };
    child.stdout!.on("data", keep);
    child.stderr!.on("data", keep);
    this.exited = new Promise((resolve) => child.once("exit", () => resolve()));
    this.child = child;
  }

  get running(): boolean {
    return this.child !== undefined && this.child.exitCode === null && this.child.signalCode === null;
  }

  async signal(signal: NodeJS.Signals): Promise<void> {
    if (!this.running) return;
    this.child!.kill(signal);
    await this.exited;
  }

  forceStop(): void {
    if (this.running) this.child!.kill("SIGKILL");
  }
}

export interface PrivateNats {
  readonly url: string;
  readonly port: number;
  readonly name: string;
  /** SIGTERM: nats-server shuts down cleanly. SIGKILL: it vanishes. */
  stop(signal?: "SIGTERM" | "SIGKILL"): Promise<void>;
  /** Starts again on the same port with the same JetStream store. */
  start(): Promise<void>;
  output(): string[];
  remove(): Promise<void>;
}

interface NatsSpec {
  name: string;
  port: number;
  storeDir: string;
  cluster?: { name: string; port: number; routes: number[] };
}

function natsServer(spec: NatsSpec, waitForJetStream: boolean): PrivateNats {
  const args = ["-a", "127.0.0.1", "-p", String(spec.port), "-js", "-sd", spec.storeDir, "--server_name", spec.name];
  if (spec.cluster) {
    args.push(
      "--cluster_name",
      spec.cluster.name,
      "--cluster",
      `nats://127.0.0.1:${spec.cluster.port}`,
      "--routes",
      spec.cluster.routes.map((p) => `nats://127.0.0.1:${p}`).join(","),
    );
  }
  const process_ = new Supervised(spec.name, NATS_SERVER, args);
  track(process_);
  const url = `nats://127.0.0.1:${spec.port}`;
  const server: PrivateNats = {
    url,
    port: spec.port,
    name: spec.name,
    async start() {
      process_.start();
      await waitUntil(`nats-server ${spec.name}`, async () => {
        const nc = await connect({ servers: url, reconnect: false, timeout: 1000 });
        try {
          if (waitForJetStream) await (await jetstreamManager(nc, { timeout: 2000 })).getAccountInfo();
          return true;
        } finally {
          await nc.close();
        }
      });
    },
    stop: (signal = "SIGTERM") => process_.signal(signal),
    output: () => process_.output,
    async remove() {
      await process_.signal("SIGKILL");
      living.delete(process_);
      rmSync(spec.storeDir, { recursive: true, force: true });
    },
  };
  return server;
}

export async function startNats(): Promise<PrivateNats> {
  const server = natsServer({ name: "nats-private", port: await freePort(), storeDir: tempDir("tickets-nats-") }, true);
  await server.start();
  return server;
}

export interface PrivateNatsCluster {
  readonly servers: PrivateNats[];
  /** Every server, comma-separated, as NATS_URL takes them. */
  readonly url: string;
  remove(): Promise<void>;
}

/** Three nats-servers with JetStream, routed to each other on loopback; resolves when JetStream answers on all. */
export async function startNatsCluster(size = 3): Promise<PrivateNatsCluster> {
  const clientPorts = await Promise.all(Array.from({ length: size }, freePort));
  const routePorts = await Promise.all(Array.from({ length: size }, freePort));
  const clusterName = `tickets-faults-${process.pid}`;
  const servers = clientPorts.map((port, i) =>
    natsServer(
      {
        name: `nats-${i + 1}`,
        port,
        storeDir: tempDir(`tickets-nats${i + 1}-`),
        cluster: { name: clusterName, port: routePorts[i]!, routes: routePorts.filter((_, j) => j !== i) },
      },
      true,
    ),
  );
  // JetStream answers only once the meta group has a leader, which needs a quorum: start all first.
  await Promise.all(servers.map((s) => s.start()));
  return {
    servers,
    url: servers.map((s) => s.url).join(","),
    async remove() {
      await Promise.all(servers.map((s) => s.remove()));
    },
  };
}

export interface PrivateRedis {
  readonly url: string;
  readonly running: boolean;
  stop(): Promise<void>;
  start(): Promise<void>;
  output(): string[];
  remove(): Promise<void>;
}

export async function startRedis(): Promise<PrivateRedis> {
  const port = await freePort();
  const process_ = new Supervised("redis-private", "redis-server", [
    "--port",
    String(port),
    "--bind",
    "127.0.0.1",
    "--save",
    "",
    "--appendonly",
    "no",
  ]);
  track(process_);
  const url = `redis://127.0.0.1:${port}`;
  const server: PrivateRedis = {
    url,
    get running() {
      return process_.running;
    },
    async start() {
      process_.start();
      await waitUntil("redis-server", async () => {
        const redis = new Redis(url, { lazyConnect: true, maxRetriesPerRequest: 0, retryStrategy: () => null });
        redis.on("error", () => undefined);
        try {
          await redis.connect();
          return (await redis.ping()) === "PONG";
        } finally {
          redis.disconnect();
        }
      });
    },
    stop: () => process_.signal("SIGKILL"),
    output: () => process_.output,
    async remove() {
      await process_.signal("SIGKILL");
      living.delete(process_);
    },
  };
  await server.start();
  return server;
}

export interface PrivatePostgres {
  /** URL of the `tickets` database. */
  readonly url: string;
  /** `pg_ctl stop -m immediate` (a crash: no checkpoint, WAL replay on start), then start again. */
  restartImmediate(): Promise<void>;
  output(): string[];
  remove(): Promise<void>;
}

/**
 * A Postgres cluster of its own: initdb (as the postgres user, which it insists on), then the
 * postmaster as our child with the socket in the data directory, listening on loopback only.
 */
export async function startPostgres(): Promise<PrivatePostgres> {
  const port = await freePort();
  const root = tempDir("tickets-pg-");
  const dataDir = join(root, "data");
  mkdirSync(dataDir);
  const { uid, gid } = postgresUser();
  chownSync(root, uid, gid);
  chownSync(dataDir, uid, gid);
  execFileSync(
    "setpriv",
    [
      "--reuid",
      "postgres",
      "--regid",
      "postgres",
      "--init-groups",
      "--",
      `${POSTGRES_BIN}/initdb`,
      "-D",
      dataDir,
      "-A",
      "trust",
      "-U",
      "postgres",
      "--no-sync",
      "-E",
      "UTF8",
    ],
    {
      stdio: "ignore",
    },
  );
  const postmaster = new Supervised(
    "postgres-private",
    `${POSTGRES_BIN}/postgres`,
    ["-D", dataDir, "-p", String(port), "-k", dataDir, "-c", "listen_addresses=127.0.0.1", "-c", "max_connections=200", "-c", "fsync=off"],
    "postgres",
  );
  track(postmaster);
  const adminUrl = `postgres://postgres@127.0.0.1:${port}/postgres`;
  const ready = () =>
    waitUntil("postgres", async () => {
      const client = new pg.Client({ connectionString: adminUrl, connectionTimeoutMillis: 1000 });
      client.on("error", () => undefined);
      try {
        await client.connect();
        await client.query("SELECT 1");
        return true;
      } finally {
        await client.end().catch(() => undefined);
      }
    });
  postmaster.start();
  await ready();
  const admin = new pg.Client({ connectionString: adminUrl });
  await admin.connect();
  await admin.query("CREATE DATABASE tickets");
  await admin.end();
  return {
    url: `postgres://postgres@127.0.0.1:${port}/tickets`,
    async restartImmediate() {
      // not execFileSync: this process hosts the gateway simulator and its proxy, which must keep answering
      await execFileAsync("setpriv", [
        "--reuid",
        "postgres",
        "--regid",
        "postgres",
        "--init-groups",
        "--",
        `${POSTGRES_BIN}/pg_ctl`,
        "-D",
        dataDir,
        "-m",
        "immediate",
        "-w",
        "stop",
      ]);
      await postmaster.signal("SIGKILL");
      postmaster.start();
      await ready();
    },
    output: () => postmaster.output,
    async remove() {
      await postmaster.signal("SIGQUIT");
      living.delete(postmaster);
      rmSync(root, { recursive: true, force: true });
    },
  };
}

function postgresUser(): { uid: number; gid: number } {
  const id = (flag: string) => Number(execFileSync("id", [flag, "postgres"], { encoding: "utf8" }).trim());
  return { uid: id("-u"), gid: id("-g") };
}
