// The whole HTTP edge against the real system, with arbitrary methods, paths of the OpenAPI
// document, headers and bodies derived from its schemas, then bent. Reproduce a failure with
// EDGE_PROPERTY_SEED=<seed> (and EDGE_PROPERTY_RUNS for more or fewer cases).
import test from "ava";
import { isDeepStrictEqual } from "node:util";
import { randomUUID } from "node:crypto";
import fc from "fast-check";
import type { z } from "zod";
import { adminApi } from "../../lib/http/admin-routes.ts";
import { type ApiRoute, publicApi } from "../../lib/http/api-routes.ts";
import { effectCounts } from "../support/effects.ts";
import {
  asciiText,
  bodyEncoding,
  contentTypes,
  deref,
  fromSchema,
  hostileText,
  idempotencyKeys,
  methods,
  mutated,
  pathValues,
  percentEncoded,
  uuid,
} from "../support/edge-arbitraries.ts";
import { eventually, quiet, startTestSystem, type TestSystem } from "../support/system.ts";

type Json = any;
const ADMIN_TOKEN = `admin-${randomUUID()}`;
const asAdmin = { Authorization: `Bearer ${ADMIN_TOKEN}` };
const ORIGIN = "http://localhost:3000";
const RUNS = Number(process.env.EDGE_PROPERTY_RUNS ?? 1500);
const SEED = Number(process.env.EDGE_PROPERTY_SEED ?? Date.now() % 2 ** 31);

let sys: TestSystem;
const showIds: string[] = [];
const ticketIds: string[] = [];

test.before(async () => {
  // Access control is on (ADMIN_TOKEN); thousands of cases from one client must not meet its rate limits.
  sys = await startTestSystem({
    env: { ADMIN_TOKEN, CORS_ORIGINS: ORIGIN, RATE_LIMIT_AUTH_FAILURES: "1000000", RATE_LIMIT_ANONYMOUS: "1000000" },
  });
  for (let i = 0; i < 2; i++) {
    const show = await sys.http(
      "POST",
      "/api/shows",
      {
        dead_nation_id: randomUUID(),
        number_of_tickets: 1_000_000,
        start_time: "2027-06-01T20:00:00Z",
        title: `Property ${i}`,
        venue: "Hall",
      },
      asAdmin,
    );
    showIds.push(show.body.show_id);
  }
  for (let i = 0; i < 3; i++) ticketIds.push(randomUUID());
  const tickets = ticketIds.map((ticket_id) => ({
    ticket_id,
    status: "confirmed",
    price: { amount: "5.00", currency: "EUR" },
    customer_email: "p@q.r",
  }));
  await sys.http("POST", "/api/tickets-status", { tickets }, { ...asAdmin, "Idempotency-Key": randomUUID() });
  await eventually(async () => (await sys.node.runtime.db("tickets").whereIn("ticket_id", ticketIds)).length === ticketIds.length);
  await eventually(() => quiet(sys));
});
test.after.always(async () => {
  await sys?.stop();
});

interface Operation {
  key: string;
  template: string;
  method: string;
  operation: Json;
  route: ApiRoute;
}

/** The operations of the served document, each with the route table entry that validates it. */
function operationsOf(doc: Json): Operation[] {
  const tables = [...Object.values(publicApi), ...Object.values(adminApi)];
  return Object.entries(doc.paths).flatMap(([template, operations]) =>
    Object.entries(operations as Record<string, Json>).map(([method, operation]) => ({
      key: `${method.toUpperCase()} ${template}`,
      template,
      method: method.toUpperCase(),
      operation,
      route: tables.find((route) => route.action === operation["x-moleculer-action"])!,
    })),
  );
}

const existing = (ids: string[]) => fc.oneof({ weight: 3, arbitrary: fc.constantFrom(...ids) }, uuid);

/** Values for fields by name, so requests can reach rows that exist. */
const hints = () => ({
  show_id: existing(showIds),
  ticket_id: existing(ticketIds),
  id: fc.oneof(uuid, fc.integer({ min: 1, max: 5 })),
  name: fc.constantFrom("ops-bookings", "no-such-model"),
  number_of_tickets: fc.oneof({ weight: 4, arbitrary: fc.integer({ min: 1, max: 3 }) }, fc.integer({ min: 1, max: 1_000_000 })),
});

function caseOf(doc: Json, operations: Map<string, Operation>) {
  const components = doc.components.schemas;
  return fc.constantFrom(...operations.keys()).chain((key) => {
    const op = operations.get(key)!;
    const parameters: Json[] = op.operation.parameters ?? [];
    const parameterValue = (parameter: Json) =>
      (hints() as Record<string, fc.Arbitrary<unknown>>)[parameter.name] ?? fromSchema(parameter.schema, components);
    const body = op.operation.requestBody?.content["application/json"].schema;
    return fc.record({
      op: fc.constant(key),
      method: fc.oneof({ weight: 5, arbitrary: fc.constant(op.method) }, methods),
      path: fc.tuple(...parameters.filter((p) => p.in === "path").map((p) => pathValues(parameterValue(p).map(String))), fc.constant("")),
      query: fc.oneof(
        { weight: 4, arbitrary: fc.constant("") },
        fc
          .constant(`?receipt_issue_date=`)
          .chain((q) => fromSchema(deref({ $ref: "#/components/schemas/CalendarDate" }, components), components).map((d) => `${q}${d}`)),
        hostileText.map((text) => `?receipt_issue_date=${percentEncoded(text)}`),
        asciiText(20).map((text) => `?${encodeURIComponent(text)}=${encodeURIComponent(text)}`),
        fc.constant("?tickets[0][ticket_id]=x&title=%00"),
      ),
      body: mutated(body ? fromSchema(body, components, hints()) : fc.constant({})),
      encoding: body ? bodyEncoding : fc.oneof({ weight: 5, arbitrary: fc.constant("none") }, bodyEncoding),
      contentType: contentTypes,
      idempotencyKey: idempotencyKeys,
      origin: fc.constantFrom(undefined, ORIGIN, "http://evil.example", "null"),
      // mostly authorised, so most cases reach validation and the actions rather than the access check
      authorization: fc.oneof(
        { weight: 6, arbitrary: fc.constant(`Bearer ${ADMIN_TOKEN}`) },
        fc.constantFrom(undefined, "Bearer wrong-token-0123456789", "Basic YTpi"),
      ),
      trailingSlash: fc.oneof({ weight: 9, arbitrary: fc.constant(false) }, fc.constant(true)),
    });
  });
}

type Case = (ReturnType<typeof caseOf> extends fc.Arbitrary<infer C> ? Omit<C, "op"> : never) & { op: Operation };

let operationsByKey: Map<string, Operation>;

function urlOf(c: Case): string {
  const values = [...c.path];
  const path = c.op.template.replace(/\{\w+\}/g, () => values.shift()!);
  return `${path}${c.trailingSlash ? "/" : ""}${c.query}`;
}

function bodyOf(c: Case): { body?: string; headers: Record<string, string> } {
  const json = JSON.stringify(c.body.value) ?? "";
  const headers: Record<string, string> = {};
  const bodies: Record<string, string | undefined> = {
    none: undefined,
    json,
    empty: "",
    garbage: "{not json",
    truncated: json.slice(0, Math.floor(json.length / 2)),
    huge: JSON.stringify({ pad: "x".repeat(300_000) }),
    "gzip-lie": json,
  };
  if (c.encoding === "gzip-lie") headers["Content-Encoding"] = "gzip";
  return { body: bodies[c.encoding], headers };
}

interface Answer {
  status: number;
  text: string;
  contentType: string | null;
}

async function send(c: Case): Promise<Answer> {
  const { body, headers } = bodyOf(c);
  if (c.contentType !== undefined) headers["Content-Type"] = c.contentType;
  if (c.idempotencyKey !== undefined) headers["Idempotency-Key"] = c.idempotencyKey;
  if (c.origin !== undefined) headers.Origin = c.origin;
  if (c.authorization !== undefined) headers.Authorization = c.authorization;
  if (c.method === "OPTIONS") headers["Access-Control-Request-Method"] = c.op.method;
  const withBody = body !== undefined && c.method !== "GET" && c.method !== "HEAD";
  const response = await fetch(`${sys.url}${urlOf(c)}`, { method: c.method, headers, ...(withBody ? { body } : {}) });
  return { status: response.status, text: await response.text(), contentType: response.headers.get("content-type") };
}

const describe = (c: Case, answer: Answer) =>
  `${c.method} ${urlOf(c).slice(0, 200)} (${c.encoding}, ${c.body.mutation}, ${c.contentType}) → ${answer.status} ${answer.text.slice(0, 300)}`;

/** The operation the gateway routes this request to, as moleculer-web matches paths (no query, no trailing slash). */
function routedOperation(c: Case): Operation | undefined {
  const path = urlOf(c)
    .split("?")[0]!
    .replace(/(.)\/$/, "$1");
  const method = c.method === "HEAD" ? "GET" : c.method;
  return [...operationsByKey.values()].find(
    (op) => op.method === method && new RegExp(`^${op.template.replace(/\{\w+\}/g, "[^/]+")}$`).test(path),
  );
}

/** The documented answer of a 2xx: its status is in the document and its body matches the route's schema. */
function checkSuccess(c: Case, answer: Answer) {
  const sentAs = c.method === "HEAD" ? "GET" : c.method;
  if (c.method === "OPTIONS") {
    if (answer.status !== 204 || answer.text !== "") throw new Error(`an OPTIONS answered like an action: ${describe(c, answer)}`);
    return;
  }
  const op = routedOperation(c);
  if (!op) throw new Error(`${c.method} succeeded on a path no ${sentAs} operation has: ${describe(c, answer)}`);
  const documented = op.route.responses[answer.status];
  if (!documented) throw new Error(`undocumented status: ${describe(c, answer)}`);
  if (c.method === "HEAD") return;
  const schema: z.ZodType | undefined = documented.body;
  if (!schema) {
    if (answer.text !== "" && answer.text !== "null" && op.template.startsWith("/api"))
      throw new Error(`a body where none is documented: ${describe(c, answer)}`);
    return;
  }
  const parsed = schema.safeParse(JSON.parse(answer.text));
  if (!parsed.success) throw new Error(`body does not match its schema (${parsed.error.message}): ${describe(c, answer)}`);
}

/** A refusal says why in `{"error"}`, and its status is one the document names for the operation. */
function checkRefusal(c: Case, answer: Answer) {
  if (c.method === "HEAD") return;
  const body = JSON.parse(answer.text);
  if (typeof body?.error !== "string") throw new Error(`a 4xx without {"error"}: ${describe(c, answer)}`);
  const op = routedOperation(c);
  if (op && ![404, 405].includes(answer.status) && !(String(answer.status) in op.operation.responses))
    throw new Error(`undocumented status: ${describe(c, answer)}`);
}

test.serial("the edge never answers 5xx, a 4xx changes nothing, a 2xx is what the document says", async (t) => {
  t.timeout(240_000);
  const doc = (await sys.http("GET", "/api/openapi.json")).body;
  const operations = operationsOf(doc);
  t.true(
    operations.every((op) => op.route),
    "every documented operation has its route table entry",
  );
  operationsByKey = new Map(operations.map((op) => [op.key, op]));
  t.log(`seed ${SEED}, ${RUNS} cases (EDGE_PROPERTY_SEED=${SEED} reproduces)`);

  let fingerprint = await effectCounts(sys);
  const tally: Record<string, number> = {};
  const started = Date.now();
  const property = fc.asyncProperty(caseOf(doc, operationsByKey), async (generated) => {
    const c: Case = { ...generated, op: operationsByKey.get(generated.op)! };
    const answer = await send(c);
    const band = `${Math.floor(answer.status / 100)}xx`;
    tally[band] = (tally[band] ?? 0) + 1;
    if (answer.status >= 500) throw new Error(`a 5xx: ${describe(c, answer)}`);
    if (answer.status < 300) {
      checkSuccess(c, answer);
      await eventually(() => quiet(sys), { intervalMs: 20 });
      fingerprint = await effectCounts(sys);
      return;
    }
    checkRefusal(c, answer);
    const after = await effectCounts(sys);
    if (!isDeepStrictEqual(after, fingerprint))
      throw new Error(`a 4xx changed something: ${describe(c, answer)}\n${JSON.stringify({ before: fingerprint, after })}`);
  });
  const result = await fc.check(property, { numRuns: RUNS, seed: SEED });
  if (result.failed) {
    const counterexample = JSON.stringify(result.counterexample, (_key, value) =>
      typeof value === "string" && value.length > 200 ? `${value.slice(0, 200)}…` : value,
    );
    t.fail(
      `seed ${SEED} (EDGE_PROPERTY_SEED=${SEED} reproduces), path ${result.counterexamplePath}: ${String(result.errorInstance)}\n${counterexample}`,
    );
  }
  t.log(`${RUNS} cases in ${((Date.now() - started) / 1000).toFixed(1)} s: ${JSON.stringify(tally)}`);
  t.pass();
});
