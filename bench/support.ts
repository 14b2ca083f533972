/**
 * Shared pieces of the benchmarks: the machine description, percentiles and one line of results
 * per figure. Every bench measures its baseline in the same run on the same machine, because
 * absolute numbers on a shared machine drift while ratios hold.
 */
import { execFileSync } from "node:child_process";
import { readdirSync, readFileSync } from "node:fs";
import { cpus, loadavg, totalmem } from "node:os";
import type { Knex } from "knex";

export function machine(): string {
  const memory = (() => {
    try {
      return execFileSync("free", ["-h"], { encoding: "utf8" }).split("\n")[1]!.trim().split(/\s+/)[1];
    } catch {
      return `${Math.round(totalmem() / 2 ** 30)}Gi`;
    }
  })();
  // The load average shows how much else was running on a shared machine when the figures were taken.
  return `${cpus().length} CPU (${cpus()[0]?.model.trim() ?? "unknown"}), ${memory} RAM, Node ${process.version}, load ${loadavg()[0]!.toFixed(2)}, ${new Date().toISOString()}`;
}

export function percentile(sorted: number[], p: number): number {
  if (sorted.length === 0) return NaN;
  const index = Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1));
  return sorted[index]!;
}

export function median(values: number[]): number {
  return percentile(
    [...values].sort((a, b) => a - b),
    50,
  );
}

export const round = (value: number, digits = 0) => Number(value.toFixed(digits));

/** Prints a heading and the figures as aligned `name: value` lines. */
export function report(title: string, figures: Record<string, string | number>): void {
  const width = Math.max(...Object.keys(figures).map((k) => k.length));
  console.log(`\n== ${title}`);
  for (const [name, value] of Object.entries(figures)) console.log(`  ${name.padEnd(width)}  ${value}`);
}

export function verdict(ratio: number, target: number, higherIsBetter = true): string {
  const met = higherIsBetter ? ratio >= target : ratio <= target;
  return `${round(ratio, 2)} (target ${higherIsBetter ? "≥" : "≤"} ${target}: ${met ? "met" : "MISSED"})`;
}

export const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

const clockTicksPerSecond = 100;

/** CPU milliseconds (user + system) a process has used so far, from /proc; 0 when it is gone. */
export function processCpuMs(pid: number): number {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, "utf8");
    const fields = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
    return ((Number(fields[11]) + Number(fields[12])) * 1000) / clockTicksPerSecond;
  } catch {
    return 0;
  }
}

/** Pids of the processes whose command line contains every one of `parts`. */
export function pidsMatching(...parts: string[]): number[] {
  return readdirSync("/proc")
    .filter((entry) => /^\d+$/.test(entry))
    .filter((pid) => {
      try {
        const cmdline = readFileSync(`/proc/${pid}/cmdline`, "utf8").replace(/\0/g, " ");
        return parts.every((part) => cmdline.includes(part));
      } catch {
        return false;
      }
    })
    .map(Number);
}

/** Pids of the Postgres backends connected to one database now. */
export async function postgresBackends(db: { raw(sql: string, bindings: unknown[]): Promise<any> }, database: string): Promise<number[]> {
  const { rows } = await db.raw("SELECT pid FROM pg_stat_activity WHERE datname = ?", [database]);
  return (rows as { pid: number }[]).map((r) => r.pid);
}

/** CPU milliseconds so far of the parts of a system under test: this process, a database's backends, nats-server, redis-server. */
export interface CpuSample {
  node: number;
  postgres: Map<number, number>;
  nats: number;
  redis: number;
}

const serverCpuMs = (...cmdline: string[]) => pidsMatching(...cmdline).reduce((sum, pid) => sum + processCpuMs(pid), 0);

/** The servers are told apart by the port in their command line (`nats-server … -p 4222 …`, `redis-server 127.0.0.1:6379`). */
export async function sampleCpu(
  db: Parameters<typeof postgresBackends>[0] | undefined,
  database: string | undefined,
  servers: { natsUrl?: string; redisUrl?: string } = {},
): Promise<CpuSample> {
  const usage = process.cpuUsage();
  const backends = db && database ? await postgresBackends(db, database) : [];
  const portOf = (url: string, fallback: string) => new URL(url.split(",")[0]!.includes("://") ? url : `nats://${url}`).port || fallback;
  return {
    node: (usage.user + usage.system) / 1000,
    postgres: new Map(backends.map((pid) => [pid, processCpuMs(pid)])),
    nats: servers.natsUrl ? serverCpuMs("nats-server", `-p ${portOf(servers.natsUrl, "4222")} `) : 0,
    redis: servers.redisUrl ? serverCpuMs("redis-server", `:${portOf(servers.redisUrl, "6379")}`) : 0,
  };
}

/**
 * CPU spent between two samples. A backend that connected in between counts from zero; one that
 * disconnected in between is lost, so take the second sample before the system stops. nats-server
 * and redis-server are shared with whatever else runs on the machine: their share is an upper bound.
 */
export function cpuSpent(before: CpuSample, after: CpuSample) {
  let postgres = 0;
  for (const [pid, ms] of after.postgres) postgres += ms - (before.postgres.get(pid) ?? 0);
  return { node: after.node - before.node, postgres, nats: after.nats - before.nats, redis: after.redis - before.redis };
}

/**
 * CPU milliseconds used during `phase` by this process (the brokers a bench runs in-process) and by
 * the Postgres backends of `database` (none without `db`), and the phase's wall time.
 */
export async function cpuDuring<T>(
  db: Knex | undefined,
  database: string | undefined,
  phase: () => Promise<T>,
): Promise<{ result: T; nodeMs: number; postgresMs: number; wallMs: number }> {
  const before = await sampleCpu(db, database);
  const started = performance.now();
  const result = await phase();
  const wallMs = performance.now() - started;
  const spent = cpuSpent(before, await sampleCpu(db, database));
  return { result, nodeMs: spent.node, postgresMs: spent.postgres, wallMs };
}

/** Counts the statements knex sends on `pools` until `stop()`: in all, and by the start of their SQL. */
export function countStatements(pools: Knex[]) {
  const byShape = new Map<string, number>();
  let total = 0;
  const count = (query: { sql: string }) => {
    total++;
    // literals written into the SQL (an inbox opening's) would make every statement a shape of its own
    const shape = query.sql.replace(/\s+/g, " ").replace(/'.*$/, "'…").slice(0, 110);
    byShape.set(shape, (byShape.get(shape) ?? 0) + 1);
  };
  for (const pool of pools) pool.on("query", count);
  return {
    get total() {
      return total;
    },
    byShape,
    stop() {
      for (const pool of pools) pool.off("query", count);
    },
  };
}
