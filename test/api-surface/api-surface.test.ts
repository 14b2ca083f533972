import test from "ava";
import { execFile } from "node:child_process";
import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { createRequire } from "node:module";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { promisify } from "node:util";
import { randomUUID } from "node:crypto";
import { z } from "zod";
import type { TicketsNode } from "../../node/start-node.ts";
import { publicApi } from "../../lib/http/api-routes.ts";
import { adminApi } from "../../lib/http/admin-routes.ts";
import { httpRequest, startTestSystem, type TestSystem } from "../support/system.ts";
import { insertDeadLetter } from "../support/effects.ts";

const run = promisify(execFile);
const ADMIN_TOKEN = `admin-${randomUUID()}`;
const UI_ORIGIN = "http://localhost:3000";

let sys: TestSystem;
/** A second gateway node of the same cluster, with ADMIN_TOKEN and CORS_ORIGINS set. */
let guarded: TicketsNode;
let guardedUrl: string;
let deadLetterId: string;

test.before(async () => {
  sys = await startTestSystem();
  // Its tests send wrong credentials on purpose, more than the default limit of failed checks allows.
  guarded = await sys.startNode({ SERVICES: "api", ADMIN_TOKEN, CORS_ORIGINS: UI_ORIGIN, RATE_LIMIT_AUTH_FAILURES: "1000" });
  guardedUrl = `http://127.0.0.1:${guarded.httpPort}`;
  await guarded.broker.waitForServices(["admin", "tickets"], 15_000);
  deadLetterId = await insertDeadLetter(sys, "original error");
});
test.after.always(async () => {
  await sys?.stop();
});

/** Headers before the body: most calls here vary the credentials, few send a body. */
const call = (base: string, method: string, path: string, headers: Record<string, string> = {}, body?: unknown) =>
  httpRequest(base, method, path, body, headers);
const bearer = (token: string) => ({ Authorization: `Bearer ${token}` });
const deadLetter = () => sys.node.runtime.db("dead_letters").where({ id: deadLetterId }).first();

test.serial("internal and admin actions are not reachable over HTTP outside the guarded admin route", async (t) => {
  const attempts: [string, string][] = [];
  const actionPaths = [
    "tickets/replayDeadLetter",
    "tickets.replayDeadLetter",
    "$node/list",
    "~node/list",
    "$node.services",
    "admin/dlqReplay",
    "admin.dlqDrop",
    "admin/outbox",
    "admin/rebuildReadModel",
    "api/addRoute",
    "api.listAliases",
    "api-gateway.listAliases",
    "api-gateway/addRoute",
  ];
  for (const path of actionPaths) {
    for (const method of ["POST", "PUT", "DELETE"]) attempts.push([method, `/${path}`]);
    for (const method of ["GET", "POST", "PUT", "DELETE"]) attempts.push([method, `/api/${path}`]);
  }
  for (const base of [sys.url, guardedUrl]) {
    for (const [method, path] of attempts) {
      for (const headers of [{}, bearer(ADMIN_TOKEN)] as Record<string, string>[]) {
        const response = await call(
          base,
          method,
          `${path}?id=${deadLetterId}`,
          headers,
          method === "GET" ? undefined : { id: deadLetterId },
        );
        // Whatever starts with /admin on the guarded node meets the token check first: 401 without it.
        const gated = base === guardedUrl && path.startsWith("/admin") && !("Authorization" in headers);
        // Past the token check, a real admin path asked with another method is 405: still no action runs.
        const wrongMethod = base === guardedUrl && path === "/admin/outbox" && !gated && method !== "GET";
        t.is(response.status, gated ? 401 : wrongMethod ? 405 : 404, `${method} ${path} on ${base}`);
        if (!gated && !wrongMethod) t.deepEqual(response.body, { error: "Not found" }, `${method} ${path}`);
      }
    }
    // A GET outside /api is a page of the web UI (its shell), never an action's answer.
    for (const path of actionPaths) {
      const response = await call(base, "GET", `/${path}?id=${deadLetterId}`);
      if (base === guardedUrl && path.startsWith("admin")) t.is(response.status, 401, `GET /${path}`);
      else
        t.true(
          response.status === 404 || (response.status === 200 && response.headers.get("content-type")!.startsWith("text/html")),
          `GET /${path}`,
        );
    }
  }
  t.like(await deadLetter(), { error: "original error", deliveries: 4 }, "no replay or drop ran");
});

test.serial("without ADMIN_TOKEN the admin route does not exist", async (t) => {
  for (const [method, path] of [
    ["GET", "/admin/outbox"],
    ["GET", "/admin/dead-letters"],
    [`POST`, `/admin/dead-letters/${deadLetterId}/replay`],
    ["DELETE", `/admin/dead-letters/${deadLetterId}`],
    ["POST", "/admin/read-models/ops-bookings/rebuild"],
  ]) {
    for (const headers of [{}, bearer(ADMIN_TOKEN)]) {
      const response = await call(sys.url, method!, path!, headers);
      t.is(response.status, 404, `${method} ${path}`);
      t.deepEqual(response.body, { error: "Not found" });
    }
  }
  t.truthy(await deadLetter());
});

test.serial("with ADMIN_TOKEN the admin route answers 401 without the right bearer token", async (t) => {
  const wrongCredentials = [
    {},
    bearer("not-the-token-at-all"),
    bearer(`${ADMIN_TOKEN}x`),
    { Authorization: `Basic ${Buffer.from(`admin:${ADMIN_TOKEN}`).toString("base64")}` },
    { Authorization: ADMIN_TOKEN },
  ];
  for (const [method, path] of [
    ["GET", "/admin/outbox"],
    ["GET", "/admin/consumers"],
    ["GET", `/admin/dead-letters/${deadLetterId}`],
    ["POST", `/admin/dead-letters/${deadLetterId}/replay`],
    ["DELETE", `/admin/dead-letters/${deadLetterId}`],
    ["GET", "/admin/no-such-thing"],
  ]) {
    for (const headers of wrongCredentials) {
      const response = await call(guardedUrl, method!, path!, headers);
      t.is(response.status, 401, `${method} ${path} with ${JSON.stringify(headers)}`);
      t.regex(response.body.error, /admin token/);
      t.regex(response.headers.get("www-authenticate") ?? "", /^Bearer/);
    }
  }
  t.like(await deadLetter(), { error: "original error", deliveries: 4 });
});

test.serial("with the right token the admin aliases reach the admin actions", async (t) => {
  const auth = bearer(ADMIN_TOKEN);
  const outbox = await call(guardedUrl, "GET", "/admin/outbox", auth);
  t.is(outbox.status, 200);
  t.is(typeof outbox.body.pending, "number");
  const consumers = await call(guardedUrl, "GET", "/admin/consumers", auth);
  t.is(consumers.status, 200);
  const list = await call(guardedUrl, "GET", "/admin/dead-letters", auth);
  t.is(list.status, 200);
  t.true(JSON.stringify(list.body).includes(`"id":${deadLetterId}`));
  t.is((await call(guardedUrl, "GET", `/admin/dead-letters/${deadLetterId}`, auth)).status, 200);
  t.is((await call(guardedUrl, "GET", "/admin/dead-letters/999999999", auth)).status, 404);
  t.is((await call(guardedUrl, "POST", "/admin/read-models/no-such-model/rebuild", auth)).status, 400);
  const unknown = await call(guardedUrl, "GET", "/admin/no-such-thing", auth);
  t.is(unknown.status, 404);
  t.deepEqual(unknown.body, { error: "Not found" });

  const dropped = await call(guardedUrl, "DELETE", `/admin/dead-letters/${deadLetterId}`, auth);
  t.is(dropped.status, 200);
  t.is(await deadLetter(), undefined);
});

test.serial("CORS is off by default and allows the UI's headers for the configured origins", async (t) => {
  const preflight = (base: string, origin: string) =>
    fetch(`${base}/api/tickets-status`, {
      method: "OPTIONS",
      headers: {
        Origin: origin,
        "Access-Control-Request-Method": "POST",
        "Access-Control-Request-Headers": "content-type,idempotency-key,correlation-id",
      },
    });
  const off = await preflight(sys.url, UI_ORIGIN);
  t.is(off.headers.get("access-control-allow-origin"), null);
  t.is((await fetch(`${sys.url}/api/tickets`, { headers: { Origin: UI_ORIGIN } })).headers.get("access-control-allow-origin"), null);

  const on = await preflight(guardedUrl, UI_ORIGIN);
  t.is(on.status, 204);
  t.is(on.headers.get("access-control-allow-origin"), UI_ORIGIN);
  const allowed = (on.headers.get("access-control-allow-headers") ?? "").toLowerCase().split(/,\s*/);
  for (const header of ["content-type", "idempotency-key", "correlation-id"]) t.true(allowed.includes(header), header);
  const simple = await fetch(`${guardedUrl}/api/tickets`, { headers: { Origin: UI_ORIGIN } });
  t.is(simple.headers.get("access-control-allow-origin"), UI_ORIGIN);
  t.true((simple.headers.get("access-control-expose-headers") ?? "").includes("Correlation-ID"));

  const stranger = await preflight(guardedUrl, "http://evil.example");
  t.not(stranger.headers.get("access-control-allow-origin"), "http://evil.example");
  t.not(stranger.headers.get("access-control-allow-origin"), "*");
});

type Json = any;

/** Replaces every `#/components/schemas/X` reference by the component itself. */
function deref(schema: Json, components: Record<string, Json>): Json {
  if (Array.isArray(schema)) return schema.map((item) => deref(item, components));
  if (schema === null || typeof schema !== "object") return schema;
  if (typeof schema.$ref === "string") {
    const name = schema.$ref.replace("#/components/schemas/", "");
    if (!(name in components)) throw new Error(`unresolved $ref ${schema.$ref}`);
    return deref(components[name], components);
  }
  return Object.fromEntries(Object.entries(schema).map(([key, value]) => [key, deref(value, components)]));
}

const zodJsonSchema = (schema: z.ZodType) => {
  const { $schema: _ignored, ...rest } = z.toJSONSchema(schema, { io: "input", unrepresentable: "any" }) as Json;
  return rest;
};

test.serial("GET /api/openapi.json documents exactly the routed public API with the zod schemas that validate it", async (t) => {
  const response = await sys.http("GET", "/api/openapi.json");
  t.is(response.status, 200);
  const doc = response.body;
  t.is(doc.openapi, "3.1.0");
  t.truthy(doc.info.title);

  // Paths: exactly the gateway's live /api and /admin aliases, each documented in its route table.
  const api = sys.node.broker.getLocalService("api-gateway") as unknown as {
    settings: { routes: { path: string; aliases: Record<string, unknown> }[] };
  };
  const aliasesOf = (base: string) => Object.keys(api.settings.routes.find((route) => route.path === base)!.aliases);
  const expected = ["/api", "/admin"].flatMap((base) =>
    aliasesOf(base).map((alias) => {
      const [method, path] = alias.split(/\s+/);
      return `${method!.toLowerCase()} ${base}${path!.replace(/:(\w+)/g, "{$1}")}`;
    }),
  );
  const documented = Object.entries(doc.paths).flatMap(([path, operations]) =>
    Object.keys(operations as object).map((method) => `${method} ${path}`),
  );
  t.deepEqual(documented.sort(), expected.sort());
  for (const alias of aliasesOf("/api")) t.truthy(publicApi[alias], `${alias} has an entry in lib/http/api-routes.ts`);
  for (const alias of aliasesOf("/admin")) t.truthy(adminApi[alias], `${alias} has an entry in lib/http/admin-routes.ts`);
  for (const [path, operations] of Object.entries(doc.paths))
    for (const operation of Object.values(operations as Record<string, Json>))
      t.true(
        (operation.security as object[]).some((s) => "bearerToken" in s),
        `${path} takes a bearer token (lib/http/auth/openapi-security.ts; the route matrix checks roles)`,
      );
  t.like(doc.components.securitySchemes.bearerToken, { type: "http", scheme: "bearer" });

  // Every reference resolves, and each request body is the zod schema the action validates with.
  t.notThrows(() => deref(doc.paths, doc.components.schemas));
  for (const [alias, route] of Object.entries(publicApi)) {
    const [method, path] = alias.split(/\s+/);
    const operation = doc.paths[`/api${path!.replace(/:(\w+)/g, "{$1}")}`][method!.toLowerCase()];
    t.is(operation["x-moleculer-action"], route.action);
    if (route.body) {
      t.deepEqual(
        deref(operation.requestBody.content["application/json"].schema, doc.components.schemas),
        zodJsonSchema(route.body),
        alias,
      );
    } else {
      t.is(operation.requestBody, undefined, alias);
    }
    for (const [where, schema] of [
      ["path", route.params],
      ["query", route.query],
    ] as const) {
      if (!schema) continue;
      const properties = zodJsonSchema(schema).properties as Record<string, Json>;
      for (const [name, property] of Object.entries(properties)) {
        const parameter = operation.parameters.find((p: Json) => p.in === where && p.name === name);
        t.deepEqual(deref(parameter?.schema, doc.components.schemas), property, `${alias} ${where} ${name}`);
      }
    }
  }
  const statusOperation = doc.paths["/api/tickets-status"].post;
  t.like(
    statusOperation.parameters.find((p: Json) => p.name === "Idempotency-Key"),
    { in: "header", required: true },
  );
  t.deepEqual(
    Object.keys(deref(doc.components.schemas.TicketsStatusRequest, doc.components.schemas).properties.tickets.items.properties).sort(),
    ["booking_id", "customer_email", "price", "status", "ticket_id"],
  );

  // What the document calls invalid, the API refuses.
  const invalid = {
    tickets: [{ ticket_id: randomUUID(), status: "maybe", price: { amount: "1.00", currency: "EUR" }, customer_email: "a@b.c" }],
  };
  const refused = await sys.http("POST", "/api/tickets-status", invalid, { "Idempotency-Key": randomUUID() });
  t.is(refused.status, 400);
});

test.serial("GET /api/docs is a self-contained page listing every documented operation", async (t) => {
  const [page, doc] = await Promise.all([sys.http("GET", "/api/docs"), sys.http("GET", "/api/openapi.json")]);
  t.is(page.status, 200);
  t.regex(page.headers.get("content-type") ?? "", /^text\/html/);
  for (const [path, operations] of Object.entries(doc.body.paths)) {
    t.true(page.text.includes(`<code>${path}</code>`), path);
    for (const operation of Object.values(operations as Record<string, Json>))
      t.true(page.text.includes(operation.summary.replace(/&/g, "&amp;")), operation.summary);
  }
  t.notRegex(page.text, /<script[^>]+src=|<link[^>]+href="https?:|https?:\/\/(?!json-schema\.org)/);
});

test.serial(
  "the served OpenAPI document passes redocly lint with the recommended rules, and names every answer the edge gives",
  async (t) => {
    const doc = (await sys.http("GET", "/api/openapi.json")).body;
    const dir = await mkdtemp(join(tmpdir(), "openapi-"));
    const file = join(dir, "openapi.json");
    await writeFile(file, JSON.stringify(doc));
    const cli = createRequire(import.meta.url).resolve("@redocly/cli/bin/cli.js");
    const { stdout } = await run(process.execPath, [cli, "lint", file, "--extends", "recommended", "--format", "json"], {
      env: { ...process.env, REDOCLY_TELEMETRY: "off", REDOCLY_SUPPRESS_UPDATE_NOTICE: "true" },
    }).catch((error: { stdout?: string; stderr?: string }) => {
      t.fail(`redocly lint failed: ${error.stdout ?? ""} ${error.stderr ?? ""}`);
      return { stdout: "{}" };
    });
    const report = JSON.parse(stdout);
    t.deepEqual(report.problems ?? [], []);
    t.like(report.totals, { errors: 0, warnings: 0 });
    await rm(dir, { recursive: true, force: true });

    t.true(doc.servers.length > 0);
    const statuses = new Set(
      Object.values(doc.paths).flatMap((operations) =>
        Object.values(operations as Record<string, Json>).flatMap((op) => Object.keys(op.responses)),
      ),
    );
    for (const status of ["400", "401", "404", "409", "413", "415", "422", "503"]) t.true(statuses.has(status), status);
    t.regex(doc.info.description, /405 with `Allow`/);
  },
);
