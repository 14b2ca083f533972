import { ALL_SERVICES } from "../config/index.ts";
import { spawnNodeProcess, type NodeProcess } from "../lib/cluster/node-process.ts";

/**
 * `npm run cluster`: a local cluster on the shared Postgres/NATS/Redis — a gateway node (HTTP api
 * and, unless GATEWAY_URL names a real gateway, the gateway simulator) and worker nodes running
 * every business service. Output is prefixed per node; Ctrl-C stops them all gracefully, a second
 * Ctrl-C forces them out. `CLUSTER_WORKERS=3 npm run cluster` starts more workers.
 */
const workers = Number(process.env.CLUSTER_WORKERS ?? 2);
const port = process.env.PORT ?? "8080";
const simulatorPort = process.env.GATEWAY_SIMULATOR_PORT ?? "8888";
const gatewayUrl = process.env.GATEWAY_URL ?? `http://127.0.0.1:${simulatorPort}`;
const businessServices = ALL_SERVICES.filter((service) => service !== "api-gateway").join(",");

const colours = [36, 33, 35, 32, 34, 31];
const nodes: NodeProcess[] = [];

function start(name: string, env: Record<string, string>): void {
  const colour = colours[nodes.length % colours.length];
  const prefix = `\u001b[${colour}m${name.padEnd(10)}|\u001b[0m `;
  nodes.push(
    spawnNodeProcess({
      name,
      env: { NODE_ID: name, ...env },
      onLine: (line, stream) => (stream === "stderr" ? process.stderr : process.stdout).write(`${prefix}${line}\n`),
    }),
  );
}

// The gateway node starts the simulator only when GATEWAY_URL is unset; the workers always get a URL.
start("gateway", { SERVICES: "api,admin", PORT: port, GATEWAY_SIMULATOR_PORT: simulatorPort, GATEWAY_URL: process.env.GATEWAY_URL ?? "" });
for (let i = 1; i <= workers; i++) start(`worker-${i}`, { SERVICES: businessServices, GATEWAY_URL: gatewayUrl });
console.log(`cluster: ${nodes.map((n) => n.name).join(", ")} — HTTP on :${port}, gateway ${gatewayUrl}; Ctrl-C stops`);

let signals = 0;
function shutdown(signal: NodeJS.Signals): void {
  signals += 1;
  console.log(signals === 1 ? `cluster: ${signal}, stopping every node gracefully` : `cluster: ${signal} again, forcing every node out`);
  for (const node of nodes) node.child.kill("SIGTERM");
}
process.on("SIGINT", () => shutdown("SIGINT"));
process.on("SIGTERM", () => shutdown("SIGTERM"));

const codes = await Promise.all(
  nodes.map(async (node) => {
    const code = await node.exited;
    console.log(`cluster: ${node.name} exited (${code})`);
    return code;
  }),
);
process.exit(codes.every((code) => code === 0) ? 0 : 1);
