import { z } from "zod";
import * as httpContracts from "../../contracts/http.ts";
import type { ApiRoute } from "./api-routes.ts";

type JsonSchema = Record<string, unknown>;

export interface OpenApiDocument {
  openapi: "3.1.0";
  info: { title: string; version: string; description: string };
  paths: Record<string, Record<string, OpenApiOperation>>;
  components: { schemas: Record<string, JsonSchema> };
}

export interface OpenApiOperation {
  operationId: string;
  summary: string;
  "x-moleculer-action": string;
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
 * The OpenAPI 3.1 document of the public API. Paths come from the gateway's live `/api` aliases,
 * so a route cannot exist without appearing here; their shapes come from the route table's zod
 * schemas, the ones the actions validate with. Every schema exported by contracts/http.ts is a
 * component and is referenced by name. Schemas describe what a request may carry (zod's "input"
 * side: fields with a default are optional).
 */
export function buildOpenApiDocument(
  aliases: Record<string, unknown>,
  routes: Record<string, ApiRoute>,
  basePath = "/api",
): OpenApiDocument {
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
  for (const route of Object.values(routes)) {
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
  for (const [alias, target] of Object.entries(aliases)) {
    const match = /^(GET|POST|PUT|PATCH|DELETE)\s+(\/\S*)$/i.exec(alias);
    if (!match) continue;
    const method = match[1]!.toLowerCase();
    const path = basePath + match[2]!.replace(/:([A-Za-z0-9_]+)/g, "{$1}");
    const route = routes[alias];
    const action = route?.action ?? (typeof target === "string" ? target : "(function)");
    paths[path] ??= {};
    paths[path][method] = route ? operationOf(route, schemaOf, expanded) : undocumented(alias, action);
  }

  return {
    openapi: "3.1.0",
    info: {
      title: "Tickets API",
      version: "1",
      description:
        'Errors are `{"error": "…"}` (validation adds `details`). Every response carries `Correlation-ID`, `X-Request-Id` and `X-Trace-ID`; send `Correlation-ID` and `traceparent` to continue your own.',
    },
    paths,
    components: { schemas: components },
  };
}

/** `expanded` gives a schema's own JSON Schema (parameters are listed one by one, never as a $ref). */
function operationOf(
  route: ApiRoute,
  schemaOf: (schema: z.ZodType) => JsonSchema,
  expanded: (schema: z.ZodType) => JsonSchema,
): OpenApiOperation {
  const operation = { operationId: route.action, summary: route.summary, "x-moleculer-action": route.action } as OpenApiOperation;
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

  const responses: OpenApiOperation["responses"] = {};
  for (const [status, response] of Object.entries(route.responses)) {
    const schema = response.body ? schemaOf(response.body) : Number(status) >= 400 ? errorBody : undefined;
    responses[status] = {
      description: response.description,
      ...(response.headers ? { headers: headersOf(response.headers) } : {}),
      ...(schema ? { content: { "application/json": { schema } } } : {}),
    };
  }
  responses["500"] ??= { description: "Internal server error", content: { "application/json": { schema: errorBody } } };
  operation.responses = responses;
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
