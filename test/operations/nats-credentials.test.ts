// NATS credentials in NATS_URL reach every connection: a private nats-server that demands a user
// and password, a node whose broker transporter and JetStream use it, and the operator's REPL
// node joining the same cluster with the credentials from its URL.
import test from "ava";
import { spawn, type ChildProcess } from "node:child_process";
import { mkdtempSync, rmSync } from "node:fs";
import net from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { randomUUID } from "node:crypto";
import type { TicketsNode } from "../../node/start-node.ts";
import type { OutboxStatus } from "../../lib/inspection/outbox-status.ts";
import { DependencyError } from "../../lib/runtime.ts";
import { startOperatorNode } from "../../repl/operator-node.ts";
import { eventually, freePort, startTestSystem, type TestSystem } from "../support/system.ts";

const user = "tickets";
/** Characters that must be percent-encoded in a URL, to prove the decoding too. */
const password = "s3cr@t/p:ss";
const storeDir = mkdtempSync(join(tmpdir(), "tickets-nats-auth-"));
let natsServer: ChildProcess;
let port: number;
let sys: TestSystem;
let operator: TicketsNode | undefined;

const urlWith = (credentials: string) => `nats://${credentials}@127.0.0.1:${port}`;
const goodUrl = () => urlWith(`${user}:${encodeURIComponent(password)}`);

test.before(async () => {
  port = await freePort();
  natsServer = spawn("nats-server", ["-js", "-a", "127.0.0.1", "-p", String(port), "--user", user, "--pass", password, "-sd", storeDir], {
    stdio: "ignore",
  });
  await eventually(
    () =>
      new Promise<boolean>((resolve) => {
        const socket = net.connect({ host: "127.0.0.1", port }, () => {
          socket.destroy();
          resolve(true);
        });
        socket.once("error", () => resolve(false));
      }),
    { timeoutMs: 15_000 },
  );
  sys = await startTestSystem({ env: { SERVICES: "api,tickets,datalake,admin", NATS_URL: goodUrl() } });
});
test.after.always(async () => {
  await operator?.stop();
  await sys?.stop();
  natsServer?.kill("SIGTERM");
  rmSync(storeDir, { recursive: true, force: true });
});

const operatorEnv = (natsUrl: string) => ({
  POSTGRES_URL: sys.config.POSTGRES_URL,
  REDIS_URL: sys.config.REDIS_URL,
  GATEWAY_URL: sys.sim.url,
  NAMESPACE: sys.namespace,
  LOG_LEVEL: "fatal",
  NATS_URL: natsUrl,
});

test.serial(
  "a node with credentials in NATS_URL serves HTTP through its transporter and relays and consumes through JetStream",
  async (t) => {
    const ticket = {
      ticket_id: randomUUID(),
      status: "confirmed",
      price: { amount: "5.00", currency: "EUR" },
      customer_email: "auth@example.com",
    };
    const response = await sys.http("POST", "/api/tickets-status", { tickets: [ticket] }, { "Idempotency-Key": randomUUID() });
    t.is(response.status, 200);
    const stored = await eventually(() => sys.node.runtime.db("tickets").where({ ticket_id: ticket.ticket_id }).first());
    t.is(stored.customer_email, "auth@example.com");
    const streamInfo = await sys.node.runtime.backbone.jsm.streams.info(sys.node.runtime.topology.streams.event);
    t.true(streamInfo.state.messages >= 1);
  },
);

test.serial("the REPL's node joins the cluster with the credentials from its NATS_URL", async (t) => {
  operator = await startOperatorNode(operatorEnv(goodUrl()));
  await operator.broker.waitForServices(["tickets", "api-gateway"], 15_000);
  t.true(
    operator.broker.registry.getNodeList({ onlyAvailable: true, withServices: false }).some((node) => node.id === sys.node.broker.nodeID),
  );
  const tickets = await operator.broker.call<unknown[]>("tickets.list");
  t.true(tickets.length >= 1);
  const outbox = await operator.broker.call<OutboxStatus, Record<string, never>>("admin.outbox", {}, { nodeID: operator.broker.nodeID });
  t.is(outbox.pending, 0);
});

test.serial("wrong or missing credentials are one clear start-up error naming NATS, with the password redacted", async (t) => {
  for (const url of [urlWith(`${user}:wrong`), `nats://127.0.0.1:${port}`]) {
    const error = await t.throwsAsync(startOperatorNode(operatorEnv(url)), { instanceOf: DependencyError });
    t.regex(error!.message, new RegExp(`cannot reach NATS at nats://(\\*\\*\\*@)?127\\.0\\.0\\.1:${port}`));
    t.false(error!.message.includes("wrong"));
  }
});
