import test from "ava";
import { randomUUID } from "node:crypto";
import net from "node:net";
import { loadConfig } from "../../config/index.ts";
import { publicApi } from "../../lib/http/api-routes.ts";
import { effectCounts } from "../support/effects.ts";
import { eventually, quiet, startTestSystem, type TestSystem } from "../support/system.ts";

const ADMIN_TOKEN = `admin-${randomUUID()}`;
const TIMEOUTS = { HTTP_HEADERS_TIMEOUT_MS: "1000", HTTP_REQUEST_TIMEOUT_MS: "2000", HTTP_IDLE_TIMEOUT_MS: "3000" };

let sys: TestSystem;
test.before(async () => {
  sys = await startTestSystem({ env: { ADMIN_TOKEN, ...TIMEOUTS } });
});
test.after.always(async () => {
  await sys?.stop();
});

const concrete = (path: string) => path.replace(/:\w+/g, () => randomUUID());
const auth = { Authorization: `Bearer ${ADMIN_TOKEN}` };

test.serial("HEAD answers every GET route like GET, without a body", async (t) => {
  const paths = [
    ...Object.keys(publicApi)
      .filter((alias) => alias.startsWith("GET "))
      .map((alias) => `/api${concrete(alias.slice(4))}`),
    "/health",
    "/ready",
    "/metrics",
    "/api/openapi.json",
    "/api/docs",
    "/admin/outbox",
    "/",
  ];
  for (const path of paths) {
    const [get, head] = await Promise.all([
      fetch(`${sys.url}${path}`, { headers: auth }),
      fetch(`${sys.url}${path}`, { method: "HEAD", headers: auth }),
    ]);
    await get.arrayBuffer();
    t.is(head.status, get.status, path);
    t.is(head.headers.get("content-type"), get.headers.get("content-type"), path);
    t.is(await head.text(), "", path);
  }
});

test.serial("a known path asked with another method is 405 with Allow, and changes nothing", async (t) => {
  await eventually(() => quiet(sys));
  const before = await effectCounts(sys);
  const cases: [string, string, string][] = [
    ["DELETE", "/api/shows", "POST, GET, HEAD, OPTIONS"],
    ["PUT", "/api/shows", "POST, GET, HEAD, OPTIONS"],
    ["GET", "/api/tickets-status", "POST, OPTIONS"],
    ["PATCH", "/api/book-tickets", "POST, OPTIONS"],
    ["POST", `/api/ticket-refund/${randomUUID()}`, "PUT, OPTIONS"],
    ["DELETE", `/api/shows/${randomUUID()}`, "GET, HEAD, OPTIONS"],
    ["POST", "/health", "GET, HEAD, OPTIONS"],
    ["POST", "/metrics", "GET, HEAD, OPTIONS"],
    ["DELETE", "/ready", "GET, HEAD, OPTIONS"],
  ];
  for (const [method, path, allow] of cases) {
    const response = await sys.http(method, path, method === "GET" ? undefined : { show_id: randomUUID() }, {
      "Idempotency-Key": randomUUID(),
    });
    t.is(response.status, 405, `${method} ${path}`);
    t.is(response.headers.get("allow"), allow, `${method} ${path}`);
    t.regex(response.body.error, /method not allowed/);
  }
  const admin = await sys.http("POST", "/admin/outbox", undefined, auth);
  t.is(admin.status, 405, "admin paths answer 405 once past the token check");
  t.is(admin.headers.get("allow"), "GET, HEAD, OPTIONS");
  t.is((await sys.http("POST", "/admin/outbox")).status, 401, "without the token the gate speaks first");
  t.is((await sys.http("DELETE", "/api/no-such-route")).status, 404);
  await eventually(() => quiet(sys));
  t.deepEqual(await effectCounts(sys), before);
});

test.serial("a path that cannot be decoded is 400 for any method, also before routing (OPTIONS, 405 checks)", async (t) => {
  for (const method of ["GET", "DELETE", "OPTIONS", "PUT"]) {
    const response = await fetch(`${sys.url}/api/shows/%ff`, { method });
    t.is(response.status, 400, method);
    t.is(typeof (await response.json()).error, "string");
  }
  t.is((await sys.http("GET", "/health")).status, 200);
});

test.serial(
  "a path with an empty segment is 404 for any method, not the resource routing would collapse it to (found by the property test)",
  async (t) => {
    for (const [method, path] of [
      ["GET", "/admin/dead-letters//"],
      ["GET", "/api//shows"],
      ["DELETE", "/admin/dead-letters//"],
      ["OPTIONS", "/api/shows//"],
    ] as const) {
      const response = await fetch(`${sys.url}${path}`, { method, headers: auth });
      t.is(response.status, 404, `${method} ${path}`);
      t.deepEqual(await response.json(), { error: "Not found" });
    }
  },
);

/** Opens a raw socket; resolves with what the server sent once it closes the connection. */
function rawSocket(port: number, send: (socket: net.Socket) => void) {
  const socket = net.connect(port, "127.0.0.1");
  let received = "";
  let closed = false;
  socket.on("data", (chunk) => {
    received += chunk.toString();
  });
  socket.on("error", () => undefined);
  socket.on("close", () => {
    closed = true;
  });
  socket.on("connect", () => send(socket));
  return { isClosed: () => closed, received: () => received, destroy: () => socket.destroy() };
}

test.serial(
  "silent sockets, slow headers and a body that never arrives are cut off (408 or close) by the configured deadlines",
  async (t) => {
    const port = sys.node.httpPort!;
    const drips: NodeJS.Timeout[] = [];
    const silent = Array.from({ length: 50 }, () => rawSocket(port, () => undefined));
    const slowHeaders = Array.from({ length: 20 }, () =>
      rawSocket(port, (socket) => {
        socket.write("GET /api/shows HTTP/1.1\r\nHost: x\r\n");
        drips.push(setInterval(() => socket.write("X-Drip: 1\r\n"), 200));
      }),
    );
    const slowBody = rawSocket(port, (socket) =>
      socket.write("POST /api/shows HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: 600000\r\n\r\n{}"),
    );
    try {
      await eventually(() => [...silent, ...slowHeaders, slowBody].every((s) => s.isClosed()), { timeoutMs: 20_000 });
      t.regex(slowBody.received(), /^HTTP\/1\.1 408/);
      t.true(slowHeaders.every((s) => /^HTTP\/1\.1 408|^$/.test(s.received())));
      t.is((await sys.http("GET", "/health")).status, 200, "the server still serves");
    } finally {
      for (const drip of drips) clearInterval(drip);
      for (const s of [...silent, ...slowHeaders, slowBody]) s.destroy();
    }
  },
);

test("the default deadlines cut a client off within 30 s", (t) => {
  const config = loadConfig({});
  t.true(config.HTTP_HEADERS_TIMEOUT_MS <= 30_000);
  t.true(config.HTTP_REQUEST_TIMEOUT_MS <= 30_000);
  t.true(config.HTTP_IDLE_TIMEOUT_MS <= 30_000);
  t.true(config.HTTP_IDLE_TIMEOUT_MS > config.REQUEST_TIMEOUT_MS, "an action that takes the whole broker timeout still answers");
});
