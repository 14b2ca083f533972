import { spawn, type ChildProcess } from "node:child_process";
import { createInterface } from "node:readline";
import { fileURLToPath } from "node:url";

const projectRoot = fileURLToPath(new URL("../../", import.meta.url));

export interface NodeProcessOptions {
  /** Label of the process in prefixed output, e.g. "worker-1". */
  name: string;
  /** Environment on top of the parent's (SERVICES, NODE_ID, PORT, …). */
  env: Record<string, string>;
  /** Every output line of the node, stdout and stderr alike. */
  onLine?(line: string, stream: "stdout" | "stderr"): void;
}

export interface NodeProcess {
  readonly name: string;
  readonly child: ChildProcess;
  /** Resolves with the exit code (or signal name) once the process has gone. */
  readonly exited: Promise<number | string>;
  /** SIGTERM: the node shuts down gracefully. Resolves when it has exited. */
  stop(): Promise<number | string>;
  /** SIGKILL: the node vanishes without a goodbye, as in a crash or OOM kill. */
  kill(): Promise<number | string>;
}

/**
 * Starts one Tickets node (`bin/start.ts` through the project's tsx loader and Node) as a child
 * process in its own process group, so a terminal's Ctrl-C reaches it only through its parent
 * and is never delivered twice (a second signal would force it to exit).
 */
export function spawnNodeProcess({ name, env, onLine }: NodeProcessOptions): NodeProcess {
  const child = spawn(process.execPath, ["--import", "tsx", "bin/start.ts"], {
    cwd: projectRoot,
    env: { ...process.env, ...env },
    stdio: ["ignore", "pipe", "pipe"],
    detached: true,
  });
  for (const stream of ["stdout", "stderr"] as const) {
    createInterface({ input: child[stream]! }).on("line", (line) => onLine?.(line, stream));
  }
  const exited = new Promise<number | string>((resolve) => {
    child.once("exit", (code, signal) => resolve(code ?? signal ?? "unknown"));
  });
  const signal = (sig: NodeJS.Signals) => {
    if (child.exitCode === null && child.signalCode === null) child.kill(sig);
    return exited;
  };
  return { name, child, exited, stop: () => signal("SIGTERM"), kill: () => signal("SIGKILL") };
}
