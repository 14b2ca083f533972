import { z } from "zod";
import * as httpContracts from "../../contracts/http.ts";
import type { ApiRoute } from "./api-routes.ts";

type JsonSchema = Record<string, unknown>;

export interface OpenApiDocument {
  openapi: "3.1.0";
  info: { title: string; version: string; description: string; license: { name: string; identifier: string } };
  servers: { url: string; description: string }[];
  paths: Record<string, Record<string, OpenApiOperation>>;
  /** Security schemes and each operation's `security` are added by lib/http/auth/openapi-security.ts. */
  components: { schemas: Record<string, JsonSchema>; securitySchemes?: Record<string, unknown> };
}

/** One moleculer-web route as documented: its live aliases and their table; `bearer` routes sit behind the admin gate. */
export interface ApiSection {
  basePath: string;
  aliases: Record<string, unknown>;
  routes: Record<string, ApiRoute>;
  bearer?: boolean;
}

export interface OpenApiOperation {
  operationId: string;
  summary: string;
  "x-moleculer-action": string;
  security?: Record<string, string[]>[];
  parameters?: { name: string; in: "path" | "query" | "header"; required: boolean; description?: string; schema: JsonSchema }[];
  requestBody?: { required: boolean; content: { "application/json": { schema: JsonSchema } } };
  responses: Record<
    string,
    { description: string; headers?: Record<string, unknown>; content?: { "application/json": { schema: JsonSchema } } }
  >;
}

const COMPONENT = (id: string) => `#/components/schemas/${id}`;
const errorBody = { $ref: COMPONENT("ErrorResponse") };

/**
 * The OpenAPI 3.1 document of the API. Paths come from the gateway's live aliases, so a route
 * cannot exist without appearing here; their shapes come from the route tables' zod schemas, the
 * ones the actions validate with. Schemas exported by contracts/http.ts are components referenced
 * by name (those no operation uses are left out). Schemas describe what a request may carry (zod's
 * "input" side: fields with a default are optional).
 */
export function buildOpenApiDocument(sections: ApiSection[]): OpenApiDocument {
  const names = new Map<z.ZodType, string>();
  for (const [name, value] of Object.entries(httpContracts)) if (value instanceof z.ZodType) names.set(value, name);

  // Anonymous schemas of the table (z.array(View), path parameter objects) go through the same
  // registry under temporary ids, so the named schemas inside them become $refs, then are inlined.
  const registry = z.registry<{ id: string }>();
  for (const [schema, id] of names) registry.add(schema, { id });
  const anonymous = new Map<z.ZodType, string>();
  const schemaRef = (schema: z.ZodType) => {
    if (!names.has(schema) && !anonymous.has(schema)) {
      const id = `__route_schema_${anonymous.size}`;
      anonymous.set(schema, id);
      registry.add(schema, { id });
    }
  };
  for (const route of sections.flatMap((section) => Object.values(section.routes))) {
    for (const schema of [route.body, route.query, route.params, ...Object.values(route.responses).map((r) => r.body)])
      if (schema) schemaRef(schema);
  }
  const generated = z.toJSONSchema(registry, { uri: COMPONENT, io: "input", unrepresentable: "any" }).schemas as Record<string, JsonSchema>;
  const clean = ({ $schema: _schema, $id: _id, ...rest }: JsonSchema) => rest;
  const expanded = (schema: z.ZodType): JsonSchema => clean(generated[names.get(schema) ?? anonymous.get(schema)!]!);
  const schemaOf = (schema: z.ZodType): JsonSchema => (names.has(schema) ? { $ref: COMPONENT(names.get(schema)!) } : expanded(schema));

  const components: Record<string, JsonSchema> = {};
  for (const id of names.values()) components[id] = clean(generated[id]!);

  const paths: OpenApiDocument["paths"] = {};
  for (const { basePath, aliases, routes, bearer = false } of sections) {
    for (const [alias, target] of Object.entries(aliases)) {
      const match = /^(GET|POST|PUT|PATCH|DELETE)\s+(\/\S*)$/i.exec(alias);
      if (!match) continue;
      const method = match[1]!.toLowerCase();
      const path = basePath + match[2]!.replace(/:([A-Za-z0-9_]+)/g, "{$1}");
      const route = routes[alias];
      const action = route?.action ?? (typeof target === "string" ? target : "(function)");
      paths[path] ??= {};
      paths[path][method] = route ? operationOf(route, bearer, schemaOf, expanded) : undocumented(alias, action);
    }
  }

  return {
    openapi: "3.1.0",
    info: {
      title: "Tickets API",
      version: "1",
      description: API_DESCRIPTION,
      license: { name: "Proprietary", identifier: "LicenseRef-Proprietary" },
    },
    servers: [{ url: "/", description: "The api-gateway that serves this document" }],
    paths,
    components: { schemas: referencedOnly(components, paths) },
  };
}

const API_DESCRIPTION = [
  'Errors are `{"error": "…"}` (validation adds `details: [{field, message}]`).',
  "Request bodies are JSON (`application/json` or a `+json` type; anything else is 415), at most 32 levels deep, without control characters or unpaired surrogates in any string; ids are answered in lower case whatever casing they were sent in.",
  "A known path asked with a method it does not take answers 405 with `Allow`; `OPTIONS` answers `Allow` (and the CORS preflight for the origins in CORS_ORIGINS) without running anything; `HEAD` works wherever `GET` does.",
  "Every response carries `Correlation-ID`, `X-Request-Id` and `X-Trace-ID`; send `Correlation-ID` and `traceparent` to continue your own.",
].join(" ");

/** The components reachable from the paths, following references between components. */
function referencedOnly(components: Record<string, JsonSchema>, paths: OpenApiDocument["paths"]): Record<string, JsonSchema> {
  const used = new Set<string>();
  const pending = [JSON.stringify(paths)];
  while (pending.length > 0) {
    for (const [, name] of pending.pop()!.matchAll(/"#\/components\/schemas\/([^"]+)"/g)) {
      if (used.has(name!) || !components[name!]) continue;
      used.add(name!);
      pending.push(JSON.stringify(components[name!]));
    }
  }
  return Object.fromEntries(Object.entries(components).filter(([name]) => used.has(name)));
}

const errorResponse = (description: string, headers?: Record<string, unknown>) => ({
  description,
  ...(headers ? { headers } : {}),
  content: { "application/json": { schema: errorBody } },
});

/** Answers every operation can give besides its own: the edge's refusals and the cluster's trouble. */
function edgeResponses(bearer: boolean): OpenApiOperation["responses"] {
  return {
    400: errorResponse("Invalid request (fields named in `details`)"),
    403: errorResponse("The Origin is not one of CORS_ORIGINS (only when CORS is on)"),
    ...(bearer
      ? {
          401: errorResponse("Missing or wrong bearer token", { "WWW-Authenticate": { schema: { type: "string" } } }),
          404: errorResponse("Not found (every admin route is, in development mode: no credential configured)"),
        }
      : {}),
    // any request may carry a body, also one to an operation that reads none
    413: errorResponse("Request body larger than the limit"),
    415: errorResponse("Request body is not JSON"),
    500: errorResponse("Internal server error"),
    503: errorResponse("A dependency is unavailable; retry after Retry-After seconds with the same Idempotency-Key", {
      "Retry-After": { schema: { type: "integer" } },
    }),
  };
}

/** `expanded` gives a schema's own JSON Schema (parameters are listed one by one, never as a $ref). */
function operationOf(
  route: ApiRoute,
  bearer: boolean,
  schemaOf: (schema: z.ZodType) => JsonSchema,
  expanded: (schema: z.ZodType) => JsonSchema,
): OpenApiOperation {
  const operation: OpenApiOperation = {
    operationId: route.action,
    summary: route.summary,
    "x-moleculer-action": route.action,
    responses: {},
  };
  const parameters: NonNullable<OpenApiOperation["parameters"]> = [];
  for (const [where, schema] of [
    ["path", route.params],
    ["query", route.query],
  ] as const) {
    if (!schema) continue;
    const object = expanded(schema) as { properties?: Record<string, JsonSchema>; required?: string[] };
    for (const [name, property] of Object.entries(object.properties ?? {})) {
      parameters.push({ name, in: where, required: where === "path" || (object.required ?? []).includes(name), schema: property });
    }
  }
  for (const header of route.headers ?? [])
    parameters.push({
      name: header.name,
      in: "header",
      required: header.required,
      description: header.description,
      schema: { type: "string", minLength: 1 },
    });
  if (parameters.length > 0) operation.parameters = parameters;
  if (route.body) operation.requestBody = { required: true, content: { "application/json": { schema: schemaOf(route.body) } } };

  const responses: OpenApiOperation["responses"] = edgeResponses(bearer);
  for (const [status, response] of Object.entries(route.responses)) {
    const schema = response.body ? schemaOf(response.body) : Number(status) >= 400 ? errorBody : undefined;
    responses[status] = {
      ...responses[status],
      description: response.description,
      ...(response.headers ? { headers: headersOf(response.headers) } : {}),
      ...(schema ? { content: { "application/json": { schema } } } : {}),
    };
  }
  operation.responses = Object.fromEntries(Object.entries(responses).sort(([a], [b]) => Number(a) - Number(b)));
  return operation;
}

function headersOf(headers: Record<string, { description: string }>): Record<string, unknown> {
  return Object.fromEntries(Object.entries(headers).map(([name, { description }]) => [name, { description, schema: { type: "string" } }]));
}

function undocumented(alias: string, action: string): OpenApiOperation {
  return {
    operationId: action,
    summary: `${alias} (not described in lib/http/api-routes.ts yet)`,
    "x-moleculer-action": action,
    responses: { default: { description: "Undocumented" } },
  };
}

// ---------- the readable page ----------

const escapeHtml = (text: string) => text.replace(/&/g, "&amp;").replace(/</g, "&lt;").replace(/>/g, "&gt;").replace(/"/g, "&quot;");
const pretty = (value: unknown) => `<pre>${escapeHtml(JSON.stringify(value, null, 2))}</pre>`;

/** A self-contained HTML page of the document (no scripts, no CDN): what to call and what to send. */
export function renderApiDocsPage(doc: OpenApiDocument): string {
  const sections: string[] = [];
  for (const [path, operations] of Object.entries(doc.paths)) {
    for (const [method, op] of Object.entries(operations)) {
      const params = (op.parameters ?? [])
        .map(
          (p) =>
            `<li><code>${escapeHtml(p.name)}</code> <em>${p.in}${p.required ? ", required" : ""}</em>${p.description ? ` — ${escapeHtml(p.description)}` : ""}</li>`,
        )
        .join("");
      const responses = Object.entries(op.responses)
        .map(
          ([status, r]) =>
            `<li><strong>${status}</strong> ${escapeHtml(r.description)}${r.content ? ` — <code>${escapeHtml(refName(r.content["application/json"].schema))}</code>` : ""}</li>`,
        )
        .join("");
      sections.push(`<section id="${escapeHtml(op.operationId)}">
  <h2><span class="method ${method}">${method.toUpperCase()}</span> <code>${escapeHtml(path)}</code></h2>
  <p>${escapeHtml(op.summary)} <small>(action <code>${escapeHtml(op["x-moleculer-action"])}</code>)</small></p>
  ${params ? `<h3>Parameters</h3><ul>${params}</ul>` : ""}
  ${op.requestBody ? `<h3>Request body</h3>${pretty(op.requestBody.content["application/json"].schema)}` : ""}
  <h3>Responses</h3><ul>${responses}</ul>
</section>`);
    }
  }
  const schemas = Object.entries(doc.components.schemas)
    .map(([name, schema]) => `<section id="schema-${escapeHtml(name)}"><h3>${escapeHtml(name)}</h3>${pretty(schema)}</section>`)
    .join("\n");
  return `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<title>${escapeHtml(doc.info.title)}</title>
<style>
  body { font: 15px/1.5 system-ui, sans-serif; max-width: 60rem; margin: 2rem auto; padding: 0 1rem; color: #222; }
  section { border-top: 1px solid #ddd; padding: .5rem 0; }
  .method { display: inline-block; min-width: 4.5rem; padding: 0 .4rem; border-radius: 4px; color: #fff; font-size: .85em; text-align: center; }
  .get { background: #2b7bb9; } .post { background: #2f9e44; } .put { background: #e67700; } .delete { background: #c92a2a; } .patch { background: #7048e8; }
  pre { background: #f6f8fa; padding: .6rem; overflow-x: auto; font-size: .85em; }
</style>
</head>
<body>
<h1>${escapeHtml(doc.info.title)}</h1>
<p>${escapeHtml(doc.info.description)}</p>
<p>Machine-readable: <a href="/api/openapi.json">/api/openapi.json</a> (OpenAPI ${doc.openapi}).</p>
${sections.join("\n")}
<h2>Schemas</h2>
${schemas}
</body>
</html>
`;
}

function refName(schema: JsonSchema): string {
  if (typeof schema.$ref === "string") return schema.$ref.replace(COMPONENT(""), "");
  const items = schema.items as JsonSchema | undefined;
  if (schema.type === "array" && items) return `${refName(items)}[]`;
  return String(schema.type ?? "object");
}
