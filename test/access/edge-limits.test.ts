import test from "ava";
import { randomUUID } from "node:crypto";
import { readdir, readFile } from "node:fs/promises";
import { join } from "node:path";
import { webRoot } from "../../lib/http/web-ui.ts";
import { eventually, httpRequest, startTestSystem, type TestSystem } from "../support/system.ts";
import { bearer, createStaff } from "./staff.ts";

// Development mode, the browser headers, the caps on client-chosen id headers, and rate limits that a
// cluster of gateways applies as one.

const ADMIN_TOKEN = `admin-${randomUUID()}`;
let open: TestSystem;
let guarded: TestSystem;
let secondGateway: string;

test.before(async () => {
  [open, guarded] = await Promise.all([
    startTestSystem(),
    startTestSystem({
      env: {
        ADMIN_TOKEN,
        RATE_LIMIT_AUTH_FAILURES: "5",
        RATE_LIMIT_SIGN_IN: "3",
        RATE_LIMIT_ANONYMOUS: "8",
        RATE_LIMIT_WINDOW_MS: "3600000",
      },
    }),
  ]);
  const node = await guarded.startNode({ SERVICES: "api" });
  secondGateway = `http://127.0.0.1:${node.httpPort}`;
});
test.after.always(async () => {
  await Promise.all([open?.stop(), guarded?.stop()]);
});

const show = () => ({
  dead_nation_id: randomUUID(),
  number_of_tickets: 5,
  start_time: "2026-12-24T20:00:00Z",
  title: "Edge",
  venue: "Hall",
});
const showCount = async (sys: TestSystem) => Number((await sys.node.runtime.db("shows").count({ n: "*" }))[0]!.n);

test.serial("with nothing configured the node is open and says so on /ready; the first user switches enforcement on", async (t) => {
  const ready = await open.http("GET", "/ready");
  t.is(ready.body.access, "development");
  t.truthy(ready.body.checks, "development mode shows the checks to anyone");
  t.is((await open.http("GET", "/api/tickets")).status, 200);
  t.is((await open.http("POST", "/api/shows", show())).status, 201);
  t.like((await open.http("GET", "/api/session")).body, { mode: "development", user: null });
  t.is((await open.http("GET", "/admin/outbox")).status, 404, "no admin route without credentials, as before");

  const admin = await createStaff(open, "admin");
  // A running node looks for users again within a second.
  await eventually(async () => (await open.http("GET", "/api/tickets")).status === 401);
  t.is((await open.http("GET", "/ready")).body.access, "enforced");
  t.is((await open.http("GET", "/api/tickets", undefined, bearer(admin.token))).status, 200);
  t.is(
    (await open.http("GET", "/admin/outbox", undefined, bearer(admin.token))).status,
    200,
    "an admin user opens /admin without ADMIN_TOKEN",
  );
});

test.serial("every answer carries the browser headers: CSP without inline script, nosniff, no framing, no referrer", async (t) => {
  for (const [path, status] of [
    ["/", 200],
    ["/app.js", 200],
    ["/app/shows", 200],
    ["/api/shows", 401],
    ["/api/nothing-here", 404],
    ["/health", 200],
  ] as const) {
    const response = await guarded.http("GET", path);
    t.is(response.status, status, path);
    const csp = response.headers.get("content-security-policy") ?? "";
    t.regex(csp, /default-src 'self'/, path);
    t.regex(csp, /frame-ancestors 'none'/, path);
    t.notRegex(csp, /script-src[^;]*unsafe-inline/, path);
    t.is(response.headers.get("x-content-type-options"), "nosniff", path);
    t.is(response.headers.get("x-frame-options"), "DENY", path);
    t.is(response.headers.get("referrer-policy"), "no-referrer", path);
  }
  const docs = await guarded.http("GET", "/api/docs");
  t.regex(
    docs.headers.get("content-security-policy") ?? "",
    /default-src 'none'; style-src 'unsafe-inline'/,
    "the docs page may style itself, no more",
  );
});

test.serial("the web UI has no inline script or event handler attribute (the CSP would block it)", async (t) => {
  const files = (await readdir(webRoot, { recursive: true })).filter((file) => file.endsWith(".html") || file.endsWith(".js"));
  for (const file of files) {
    const text = await readFile(join(webRoot, file), "utf8");
    if (file.endsWith(".html")) t.notRegex(text, /<script(?![^>]*\bsrc=)[^>]*>/, `${file}: inline <script>`);
    t.notRegex(text, /\son[a-z]+\s*=\s*["']/i, `${file}: inline event handler`);
    t.notRegex(text, /javascript:/i, `${file}: javascript: URL`);
  }
});

test.serial("over-long Correlation-ID, Idempotency-Key or X-Request-Id is 400 with no effect", async (t) => {
  const before = await showCount(open);
  const admin = await createStaff(open, "admin");
  for (const name of ["Correlation-ID", "Idempotency-Key", "X-Request-Id"]) {
    const refused = await open.http("POST", "/api/shows", show(), { ...bearer(admin.token), [name]: "x".repeat(129) });
    t.is(refused.status, 400, name);
    t.regex(refused.body.error, new RegExp(`${name.toLowerCase()} header too long`), name);
    t.not(refused.headers.get("correlation-id"), "x".repeat(129), `${name}: not echoed`);
  }
  t.is(await showCount(open), before);
  const fits = await open.http("POST", "/api/shows", show(), { ...bearer(admin.token), "Correlation-ID": "c".repeat(128) });
  t.is(fits.status, 201);
  t.is(fits.headers.get("correlation-id"), "c".repeat(128));
});

test.serial("failed credential checks are limited per client across gateway nodes; then even the right token waits", async (t) => {
  const bases = [guarded.url, secondGateway];
  const statuses: number[] = [];
  for (let attempt = 0; attempt < 6; attempt++) {
    statuses.push((await httpRequest(bases[attempt % 2]!, "GET", "/api/tickets", undefined, bearer(`wrong-${attempt}`))).status);
  }
  t.deepEqual(statuses, [401, 401, 401, 401, 401, 429], "the two nodes count together");
  for (const base of bases) {
    const blocked = await httpRequest(base, "GET", "/api/tickets", undefined, bearer(ADMIN_TOKEN));
    t.is(blocked.status, 429);
    t.truthy(blocked.headers.get("retry-after"));
  }
});

test.serial("sign-in attempts and anonymous calls are limited per client across gateway nodes", async (t) => {
  const bases = [guarded.url, secondGateway];
  const signIns: number[] = [];
  for (let attempt = 0; attempt < 4; attempt++) {
    signIns.push((await httpRequest(bases[attempt % 2]!, "POST", "/api/session", { username: "nobody", password: "guess" })).status);
  }
  t.is(signIns.at(-1), 429, `${signIns}`);
  // Earlier tests made anonymous calls too: count until the limit (8) answers, then both nodes refuse.
  const anonymous: number[] = [];
  while (anonymous.at(-1) !== 429 && anonymous.length <= 8) {
    anonymous.push((await httpRequest(bases[anonymous.length % 2]!, "GET", "/api/openapi.json")).status);
  }
  t.is(anonymous.at(-1), 429, `${anonymous}`);
  t.true(anonymous.slice(0, -1).every((status) => status === 200));
  for (const base of bases) t.is((await httpRequest(base, "GET", "/api/openapi.json")).status, 429);
  t.is((await httpRequest(guarded.url, "GET", "/health")).status, 200, "liveness is never limited");
});
