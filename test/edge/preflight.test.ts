import test from "ava";
import { randomUUID } from "node:crypto";
import ApiGatewayService from "../../services/api-gateway.service.ts";
import { effectCounts } from "../support/effects.ts";
import { eventually, quiet, startTestSystem, type TestSystem } from "../support/system.ts";
import { insertDeadLetter } from "../support/effects.ts";

const ADMIN_TOKEN = `admin-${randomUUID()}`;
const ORIGIN = "http://localhost:3000";

/** Every alias that changes something, from the api-gateway's own route table. */
const mutatingAliases = ApiGatewayService.settings!.routes!.flatMap((route) =>
  Object.entries(route.aliases ?? {})
    .filter(([alias, target]) => typeof target === "string" && !alias.startsWith("GET "))
    .map(([alias]) => {
      const [method, path] = alias.split(/\s+/) as [string, string];
      return { method, path: `${route.path === "/" ? "" : route.path}${path}` };
    }),
);

let sys: TestSystem;
/** A second gateway on the same cluster with CORS_ORIGINS set. */
let corsUrl: string;
const values: Record<string, string> = {};

test.before(async () => {
  sys = await startTestSystem({ env: { ADMIN_TOKEN } });
  const asAdmin = { Authorization: `Bearer ${ADMIN_TOKEN}` };
  const corsNode = await sys.startNode({ SERVICES: "api", ADMIN_TOKEN, CORS_ORIGINS: ORIGIN });
  corsUrl = `http://127.0.0.1:${corsNode.httpPort}`;
  await corsNode.broker.waitForServices(["tickets", "shows", "bookings", "refunds", "admin"], 15_000);

  const show = await sys.http(
    "POST",
    "/api/shows",
    {
      dead_nation_id: randomUUID(),
      number_of_tickets: 10,
      start_time: "2027-01-01T20:00:00Z",
      title: "Preflight",
      venue: "Hall",
    },
    asAdmin,
  );
  values.show_id = show.body.show_id;
  values.ticket_id = randomUUID();
  const ticket = { ticket_id: values.ticket_id, status: "confirmed", price: { amount: "10.00", currency: "EUR" }, customer_email: "a@b.c" };
  await sys.http("POST", "/api/tickets-status", { tickets: [ticket] }, { ...asAdmin, "Idempotency-Key": randomUUID() });
  await eventually(() => sys.node.runtime.db("tickets").where({ ticket_id: values.ticket_id }).first());
  values.id = await insertDeadLetter(sys, "original error");
  values.name = "ops-bookings";
  await eventually(() => quiet(sys));
});
test.after.always(async () => {
  await sys?.stop();
});

/** What a hostile page could send: the body and credentials the real request would carry. */
const bodies: Record<string, unknown> = {
  "/api/tickets-status": {
    tickets: [{ ticket_id: randomUUID(), status: "confirmed", price: { amount: "1.00", currency: "EUR" }, customer_email: "x@y.z" }],
  },
  "/api/shows": { dead_nation_id: randomUUID(), number_of_tickets: 1, start_time: "2027-01-01T20:00:00Z", title: "T", venue: "V" },
  "/api/book-tickets": { number_of_tickets: 1, customer_email: "x@y.z" },
};

for (const { method, path } of mutatingAliases) {
  test.serial(`OPTIONS ${path} (a preflight for ${method}) never runs the action, with CORS off or on`, async (t) => {
    const url = path.replace(/:(\w+)/g, (_, name: string) => values[name]!);
    const body = JSON.stringify({ show_id: values.show_id, ...(bodies[path] as object) });
    const before = await effectCounts(sys);
    for (const base of [sys.url, corsUrl]) {
      const response = await fetch(`${base}${url}`, {
        method: "OPTIONS",
        body,
        headers: {
          Origin: ORIGIN,
          "Access-Control-Request-Method": method,
          "Content-Type": "application/json",
          "Idempotency-Key": randomUUID(),
          Authorization: `Bearer ${ADMIN_TOKEN}`,
        },
      });
      t.is(response.status, 204, base);
      t.true((response.headers.get("allow") ?? "").split(", ").includes(method), `Allow names ${method}`);
      const cors = response.headers.get("access-control-allow-origin");
      t.is(cors, base === corsUrl ? ORIGIN : null, "CORS headers only where CORS is on");
    }
    await eventually(() => quiet(sys));
    t.deepEqual(await effectCounts(sys), before);
  });
}

test.serial(
  "with CORS_ORIGINS set, an allowed origin gets the preflight answer; a stranger or an unknown method gets no CORS headers",
  async (t) => {
    const preflight = (origin: string, method: string, path = "/api/shows") =>
      fetch(`${corsUrl}${path}`, {
        method: "OPTIONS",
        headers: {
          Origin: origin,
          "Access-Control-Request-Method": method,
          "Access-Control-Request-Headers": "content-type,idempotency-key",
        },
      });
    const allowed = await preflight(ORIGIN, "POST");
    t.is(allowed.status, 204);
    t.is(allowed.headers.get("access-control-allow-origin"), ORIGIN);
    t.regex(allowed.headers.get("access-control-allow-methods") ?? "", /\bPOST\b/);
    t.regex(allowed.headers.get("access-control-allow-headers") ?? "", /Idempotency-Key/);
    t.is(allowed.headers.get("access-control-max-age"), "600");
    t.regex(allowed.headers.get("vary") ?? "", /Origin/);

    for (const response of [await preflight("http://evil.example", "POST"), await preflight(ORIGIN, "DELETE")]) {
      t.is(response.status, 204);
      t.is(response.headers.get("access-control-allow-origin"), null);
    }
    const unknown = await preflight(ORIGIN, "POST", "/api/no-such-route");
    t.is(unknown.status, 404);
    t.is(unknown.headers.get("access-control-allow-origin"), null);
  },
);

test.serial("an OPTIONS without preflight headers is answered with Allow, never routed to the GET action", async (t) => {
  const response = await fetch(`${sys.url}/api/shows`, { method: "OPTIONS" });
  t.is(response.status, 204);
  t.is(response.headers.get("allow"), "POST, GET, HEAD, OPTIONS");
  t.is(await response.text(), "");
});
