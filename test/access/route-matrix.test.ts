import test from "ava";
import { randomUUID } from "node:crypto";
import type { Role } from "../../lib/http/auth/roles.ts";
import { eventually, quiet, startTestSystem, type TestSystem } from "../support/system.ts";
import { insertDeadLetter } from "../support/effects.ts";
import { bearer, createStaff, type SignedIn, session, signIn, type StaffMember } from "./staff.ts";

// Every route of the OpenAPI document (plus the admin and operational routes) against every kind of
// caller: refused ones get 401/403 and change nothing; allowed ones get their 2xx.

const ADMIN_TOKEN = `admin-${randomUUID()}`;
const METRICS_TOKEN = `metrics-${randomUUID()}`;
const ROLES: Role[] = ["viewer", "operator", "admin"];

/** The designed minimum role of each documented operation; a new route must be added here on purpose. */
const designed: Record<string, Role> = {
  "post /api/tickets-status": "operator",
  "get /api/tickets": "viewer",
  "post /api/shows": "operator",
  "get /api/shows": "viewer",
  "get /api/shows/{show_id}": "viewer",
  "get /api/shows/{show_id}/sales": "viewer",
  "post /api/book-tickets": "operator",
  "get /api/ops/bookings": "viewer",
  "get /api/ops/bookings/{id}": "viewer",
  "put /api/ticket-refund/{ticket_id}": "operator",
  "get /admin/outbox": "admin",
  "get /admin/consumers": "admin",
  "get /admin/dead-letters": "admin",
  "get /admin/dead-letters/{id}": "admin",
  "post /admin/dead-letters/{id}/replay": "admin",
  "delete /admin/dead-letters/{id}": "admin",
  "post /admin/read-models/{name}/rebuild": "admin",
};

let sys: TestSystem;
const members = {} as Record<Role, StaffMember>;
const sessions = {} as Record<Role, SignedIn>;
let expired: SignedIn;
const fixture = { showId: "", bookingId: "", ticketId: "", deadLetterId: "" };

test.before(async () => {
  sys = await startTestSystem({
    env: {
      ADMIN_TOKEN,
      METRICS_TOKEN,
      PARTNER_SIGNING_SECRET: `partner-${randomUUID()}`,
      RATE_LIMIT_AUTH_FAILURES: "100000",
      RATE_LIMIT_ANONYMOUS: "100000",
      RATE_LIMIT_SIGN_IN: "100000",
    },
  });
  for (const role of ROLES) {
    members[role] = await createStaff(sys, role);
    sessions[role] = await signIn(sys, members[role]);
  }
  expired = await signIn(sys, members.admin);
  await sys.node.runtime
    .db("staff_sessions")
    .where({ csrf_token: expired.csrf })
    .update({
      expires_at: sys.node.runtime.db.raw("now() - interval '1 second'"),
    });

  const admin = bearer(ADMIN_TOKEN);
  const show = await sys.http("POST", "/api/shows", showBody(), admin);
  fixture.showId = show.body.show_id;
  const booking = await sys.http(
    "POST",
    "/api/book-tickets",
    { show_id: fixture.showId, number_of_tickets: 1, customer_email: "a@b.c" },
    admin,
  );
  fixture.bookingId = booking.body.booking_id;
  fixture.ticketId = randomUUID();
  const confirmed = await sys.http("POST", "/api/tickets-status", statusBody(fixture.ticketId), {
    ...admin,
    "Idempotency-Key": randomUUID(),
  });
  if (show.status !== 201 || booking.status !== 201 || confirmed.status !== 200) throw new Error("fixture failed");
  await eventually(async () => (await sys.http("GET", `/api/ops/bookings/${fixture.bookingId}`, undefined, admin)).status === 200);
  await eventually(() => sys.node.runtime.db("tickets").where({ ticket_id: fixture.ticketId }).first());
  fixture.deadLetterId = await insertDeadLetter(sys, "matrix fixture");
});
test.after.always(async () => {
  await sys?.stop();
});

const showBody = () => ({
  dead_nation_id: randomUUID(),
  number_of_tickets: 50,
  start_time: "2026-12-24T20:00:00Z",
  title: "Matrix",
  venue: "Hall",
});
const statusBody = (ticketId: string) => ({
  tickets: [
    {
      ticket_id: ticketId,
      booking_id: fixture.bookingId,
      status: "confirmed",
      price: { amount: "50.00", currency: "EUR" },
      customer_email: "a@b.c",
    },
  ],
});

/** A request that succeeds for a caller allowed to make it: fresh keys and ids each time. */
function requestFor(operation: string): { method: string; path: string; body?: unknown; headers: Record<string, string> } {
  const [method, template] = operation.split(" ") as [string, string];
  const id = template.startsWith("/admin/") ? fixture.deadLetterId : fixture.bookingId;
  const path = template
    .replace("{show_id}", fixture.showId)
    .replace("{id}", id)
    .replace("{ticket_id}", fixture.ticketId)
    .replace("{name}", "ops-bookings");
  const bodies: Record<string, () => unknown> = {
    "post /api/tickets-status": () => statusBody(randomUUID()),
    "post /api/shows": showBody,
    "post /api/book-tickets": () => ({ show_id: fixture.showId, number_of_tickets: 1, customer_email: "a@b.c" }),
  };
  return { method: method.toUpperCase(), path, body: bodies[operation]?.(), headers: { "Idempotency-Key": randomUUID() } };
}

interface Caller {
  name: string;
  headers: () => Record<string, string>;
  role?: Role;
}
const callers = (): Caller[] => [
  { name: "no credentials", headers: () => ({}) },
  { name: "a wrong token", headers: () => bearer(`tkt_${randomUUID()}`) },
  { name: "an expired session", headers: () => session(expired) },
  { name: "the metrics token", headers: () => bearer(METRICS_TOKEN) },
  ...ROLES.flatMap((role) => [
    { name: `${role} token`, headers: () => bearer(members[role].token), role },
    { name: `${role} session`, headers: () => session(sessions[role]), role },
  ]),
  { name: "ADMIN_TOKEN", headers: () => bearer(ADMIN_TOKEN), role: "admin" as Role },
];

const rank = (role: Role) => ROLES.indexOf(role);
const effects = async () => {
  const db = sys.node.runtime.db;
  const count = async (table: string) => Number((await db(table).count({ n: "*" }))[0]!.n);
  return {
    shows: await count("shows"),
    bookings: await count("bookings"),
    tickets: await count("tickets"),
    outbox: await count("outbox"),
    idempotency_keys: await count("idempotency_keys"),
    gateway_calls: sys.sim.state.calls.length,
  };
};

async function operations(): Promise<string[]> {
  const doc = (await sys.http("GET", "/api/openapi.json")).body;
  const documented = Object.entries(doc.paths).flatMap(([path, ops]) => Object.keys(ops as object).map((method) => `${method} ${path}`));
  return documented;
}

test.serial("every documented operation has a designed role and documents its security", async (t) => {
  const doc = (await sys.http("GET", "/api/openapi.json")).body;
  t.deepEqual(Object.keys(doc.components.securitySchemes).sort(), ["bearerToken", "partnerSignature", "sessionCookie"]);
  for (const operation of await operations()) {
    t.truthy(designed[operation], `${operation} has a designed role`);
    if (!operation.includes("/api/")) continue;
    const [method, path] = operation.split(" ") as [string, string];
    const documented = doc.paths[path][method];
    t.is(documented["x-required-role"]?.split(" ")[0], designed[operation], operation);
    t.true(
      documented.security.some((s: object) => "bearerToken" in s) && documented.security.some((s: object) => "sessionCookie" in s),
      operation,
    );
    t.is(
      documented.security.some((s: object) => "partnerSignature" in s),
      operation === "post /api/tickets-status",
      operation,
    );
    for (const status of ["401", "403"]) t.truthy(documented.responses[status], `${operation} documents ${status}`);
  }
});

test.serial("refused callers get 401 or 403 and change nothing: no row, no message, no gateway call", async (t) => {
  await eventually(() => quiet(sys));
  const before = await effects();
  for (const operation of await operations()) {
    for (const caller of callers()) {
      if (caller.role && rank(caller.role) >= rank(designed[operation]!)) continue;
      const request = requestFor(operation);
      const response = await sys.http(request.method, request.path, request.body, { ...request.headers, ...caller.headers() });
      const expected = caller.role || caller.name === "the metrics token" ? 403 : 401;
      t.is(response.status, expected, `${operation} with ${caller.name}`);
      t.is(typeof response.body?.error, "string", `${operation} with ${caller.name}: JSON error`);
    }
  }
  await eventually(() => quiet(sys));
  t.deepEqual(await effects(), before);
});

test.serial("allowed callers get the route's 2xx", async (t) => {
  // Replaying, dropping and rebuilding change what the next caller finds; test/operations/admin.test.ts covers their success.
  const repeatable = (operation: string) => operation.startsWith("get ") || !operation.includes(" /admin/");
  for (const operation of (await operations()).filter(repeatable)) {
    for (const caller of callers()) {
      if (!caller.role || rank(caller.role) < rank(designed[operation]!)) continue;
      const request = requestFor(operation);
      const response = await sys.http(request.method, request.path, request.body, { ...request.headers, ...caller.headers() });
      t.true(
        response.status >= 200 && response.status < 300,
        `${operation} with ${caller.name}: ${response.status} ${response.text.slice(0, 200)}`,
      );
    }
  }
});

test.serial("a session's state-changing request without its CSRF token is refused with no effect", async (t) => {
  await eventually(() => quiet(sys));
  const before = await effects();
  const { cookie, csrf } = sessions.operator;
  for (const headers of <Record<string, string>[]>[
    { Cookie: cookie },
    { Cookie: cookie, "X-CSRF-Token": `${csrf}x` },
    { Cookie: cookie, "X-CSRF-Token": sessions.admin.csrf },
  ]) {
    const response = await sys.http("POST", "/api/shows", showBody(), headers);
    t.is(response.status, 403);
    t.regex(response.body.error, /X-CSRF-Token/);
  }
  t.deepEqual(await effects(), before);
});

test.serial("operational routes: liveness open, /ready's checks and /metrics only for the scrape token or an admin", async (t) => {
  t.is((await sys.http("GET", "/health")).status, 200);
  const anonymousReady = await sys.http("GET", "/ready");
  t.is(anonymousReady.status, 200);
  t.deepEqual(anonymousReady.body, { ready: true, access: "enforced" });
  for (const headers of [bearer(METRICS_TOKEN), bearer(ADMIN_TOKEN), session(sessions.admin)]) {
    t.truthy((await sys.http("GET", "/ready", undefined, headers)).body.checks);
    const metrics = await sys.http("GET", "/metrics", undefined, headers);
    t.is(metrics.status, 200);
    t.regex(metrics.text, /# HELP/);
  }
  t.is((await sys.http("GET", "/metrics")).status, 401);
  t.is((await sys.http("GET", "/metrics", undefined, bearer(members.operator.token))).status, 403);
  t.is((await sys.http("GET", "/ready", undefined, bearer(members.operator.token))).body.checks, undefined);
});

test.serial("signing out ends the session on the server", async (t) => {
  const own = await signIn(sys, members.viewer);
  t.is((await sys.http("GET", "/api/tickets", undefined, session(own))).status, 200);
  const refused = await sys.http("DELETE", "/api/session", undefined, { Cookie: own.cookie });
  t.is(refused.status, 403, "sign-out needs the CSRF token too");
  const out = await sys.http("DELETE", "/api/session", undefined, session(own));
  t.is(out.status, 204);
  t.regex(out.headers.get("set-cookie") ?? "", /Max-Age=0/);
  t.is((await sys.http("GET", "/api/tickets", undefined, session(own))).status, 401);
  t.is((await sys.http("GET", "/api/session", undefined, session(own))).status, 401);
});

test.serial("the session cookie is HttpOnly and SameSite=Strict, Secure behind TLS", async (t) => {
  const plain = await sys.http("POST", "/api/session", { username: members.viewer.username, password: members.viewer.password });
  const cookie = plain.headers.get("set-cookie") ?? "";
  t.regex(cookie, /HttpOnly/);
  t.regex(cookie, /SameSite=Strict/);
  t.notRegex(cookie, /Secure/);
  const proxied = await sys.http(
    "POST",
    "/api/session",
    { username: members.viewer.username, password: members.viewer.password },
    { "X-Forwarded-Proto": "https" },
  );
  t.regex(proxied.headers.get("set-cookie") ?? "", /; Secure/);
  const wrong = await sys.http("POST", "/api/session", { username: members.viewer.username, password: "wrong password" });
  t.is(wrong.status, 401);
  t.is(wrong.headers.get("set-cookie"), null);
  const unknown = await sys.http("POST", "/api/session", { username: "nobody", password: "wrong password" });
  t.deepEqual(unknown.body, wrong.body, "an unknown user reads like a wrong password");
});
