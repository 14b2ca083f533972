// The real operator REPL (`bin/repl.ts`) in a terminal: tmux runs it against this test's system,
// the test types commands and reads the tables off the screen.
import test from "ava";
import { execFileSync } from "node:child_process";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { randomUUID } from "node:crypto";
import { fileURLToPath } from "node:url";
import { eventually, quiet, startTestSystem, uniqueName, type TestSystem } from "../support/system.ts";
import { infrastructure } from "../support/infrastructure.ts";

const projectRoot = fileURLToPath(new URL("../../", import.meta.url));
const session = uniqueName("tickets-repl-");
/** The REPL keeps its history in $HOME; a throwaway one keeps the developer's clean. */
const home = mkdtempSync(join(tmpdir(), "tickets-repl-home-"));
let sys: TestSystem;

const tmux = (...args: string[]) => execFileSync("tmux", args, { encoding: "utf8" });
const screen = () => tmux("capture-pane", "-p", "-J", "-t", session, "-S", "-200");
const type = (line: string) => tmux("send-keys", "-t", session, line, "Enter");

test.before(async () => {
  sys = await startTestSystem({ env: { SERVICES: "api,tickets,datalake,admin" } });
  const infra = await infrastructure();
  const env = {
    HOME: home,
    POSTGRES_URL: sys.config.POSTGRES_URL,
    NATS_URL: infra.natsUrl,
    REDIS_URL: infra.redisUrl,
    NAMESPACE: sys.namespace,
    GATEWAY_URL: sys.sim.url,
    LOG_LEVEL: "error",
  };
  const command = `env ${Object.entries(env)
    .map(([k, v]) => `${k}='${v}'`)
    .join(" ")} '${process.execPath}' --import tsx bin/repl.ts`;
  tmux("new-session", "-d", "-s", session, "-x", "200", "-y", "50", "-c", projectRoot, command);
  await eventually(() => screen().includes("tickets $"), { timeoutMs: 60_000 });
});
test.after.always(async () => {
  try {
    tmux("kill-session", "-t", session);
  } catch {
    // already gone
  }
  rmSync(home, { recursive: true, force: true });
  await sys?.stop();
});

test.serial("`outbox` in the REPL prints the backlog and the rows relayed in the last minute as a table", async (t) => {
  const tickets = [0, 1, 2].map(() => ({
    ticket_id: randomUUID(),
    status: "confirmed",
    price: { amount: "9.90", currency: "EUR" },
    customer_email: "repl@example.com",
  }));
  const response = await sys.http("POST", "/api/tickets-status", { tickets }, { "Idempotency-Key": randomUUID() });
  t.is(response.status, 200);
  await eventually(() => quiet(sys));
  const relayed = Number((await sys.node.runtime.db("outbox").whereNotNull("published_at").count({ n: "*" }))[0]!.n);
  t.true(relayed >= 3);

  type("outbox");
  const output = (await eventually(() => {
    const text = screen();
    return /Relay rate/.test(text) && /Behind/.test(text) ? text : undefined;
  }))!;
  const cell = (label: string) => output.match(new RegExp(`${label.replace(/[()]/g, "\\$&")}\\s*\\S\\s*([^\\s│|]+)`))?.[1];
  t.is(cell("Pending rows"), "0");
  t.is(cell("Failing rows"), "0");
  t.is(cell("Oldest pending"), "-");
  t.is(cell("Published (last min)"), String(relayed));
  t.is(cell("Relay rate"), String(Math.round((relayed / 60) * 100) / 100));
  t.regex(output, new RegExp(`${sys.node.runtime.topology.streams.event}\\s*\\S\\s*\\d+`));
});

test.serial("`dlq list` and `consumers` answer in the same REPL", async (t) => {
  type("dlq list");
  await eventually(() => screen().includes("No dead letters."));
  type("consumers");
  const output = (await eventually(() => {
    const text = screen();
    return text.includes("tickets-StoreTicket") && text.includes("Last active") ? text : undefined;
  }))!;
  t.regex(output, /datalake-StoreToDataLake/);
  type("dlq show abc");
  const refusal = (await eventually(() => screen().match(/>> .*dead-letter id.*/)?.[0]))!;
  t.regex(refusal, /id: must be a dead-letter id/);
});
