// fast-check arbitraries for the HTTP edge's property test: values a JSON Schema of the OpenAPI
// document describes, and the ways a sloppy or hostile client bends them.
import fc from "fast-check";

type Json = any;

/** A reference of the document resolved against its components. */
export function deref(schema: Json, components: Record<string, Json>): Json {
  while (schema && typeof schema.$ref === "string") schema = components[schema.$ref.replace("#/components/schemas/", "")];
  return schema;
}

const printableAscii = fc.integer({ min: 0x20, max: 0x7e }).map((code) => String.fromCharCode(code));
export const asciiText = (maxLength = 40) => fc.string({ unit: printableAscii, maxLength });
export const uuid = fc.uuid({ version: [1, 4, 7] });

/** Every byte percent-encoded; unlike encodeURIComponent it does not throw on a lone surrogate. */
export const percentEncoded = (text: string) =>
  [...Buffer.from(text, "utf8")].map((byte) => `%${byte.toString(16).padStart(2, "0")}`).join("");

/**
 * Values that satisfy the JSON Schema (as far as its keywords say; zod refinements it cannot
 * express may still refuse some). `hints` replace the values of properties by name, so ids can
 * point at rows that exist.
 */
export function fromSchema(
  schema: Json,
  components: Record<string, Json>,
  hints: Record<string, fc.Arbitrary<unknown>> = {},
): fc.Arbitrary<unknown> {
  schema = deref(schema, components);
  if (!schema || Object.keys(schema).length === 0) return fc.jsonValue({ maxDepth: 2 });
  if (schema.anyOf ?? schema.oneOf) return fc.oneof(...(schema.anyOf ?? schema.oneOf).map((s: Json) => fromSchema(s, components, hints)));
  if ("const" in schema) return fc.constant(schema.const);
  if (schema.enum) return fc.constantFrom(...schema.enum);
  switch (schema.type) {
    case "string": {
      const { minLength = 0, maxLength = 40 } = schema;
      if (schema.pattern)
        return fc.stringMatching(new RegExp(schema.pattern)).filter((s) => s.length >= minLength && s.length <= maxLength);
      return fc.string({ minLength, maxLength: Math.min(maxLength, 40) });
    }
    case "integer":
    case "number": {
      const min = schema.exclusiveMinimum !== undefined ? schema.exclusiveMinimum + 1 : (schema.minimum ?? -1000);
      const max = schema.maximum ?? 1_000_000;
      return fc.oneof(fc.integer({ min, max: Math.min(max, min + 3) }), fc.integer({ min, max }));
    }
    case "boolean":
      return fc.boolean();
    case "array":
      return fc.array(fromSchema(schema.items, components, hints), {
        minLength: schema.minItems ?? 0,
        maxLength: Math.min(schema.maxItems ?? 3, 3),
      });
    case "object": {
      const properties: Record<string, Json> = schema.properties ?? {};
      const shape = Object.fromEntries(
        Object.entries(properties).map(([name, property]) => [name, hints[name] ?? fromSchema(property, components, hints)]),
      );
      return fc.record(shape, { requiredKeys: schema.required ?? [] });
    }
    default:
      return fc.jsonValue({ maxDepth: 2 });
  }
}

/** Strings no column or partner can hold, and strings that are merely odd. */
export const hostileText = fc.oneof(
  fc.constantFrom(
    "\u0000",
    "a\u0000b",
    "\u001b[31m",
    "\u007f",
    "\u0085",
    "\ud800",
    "x\udfff",
    "",
    " ",
    "🎸",
    "\u2028",
    "'; DROP TABLE shows; --",
  ),
  fc.string({ unit: "binary", maxLength: 12 }),
  fc.string({ unit: "grapheme", maxLength: 12 }),
);

/** A JSON value of another kind than the one expected. */
const wrongValue = fc.oneof(
  fc.constantFrom(null, true, 0, -1, 1.5, 1e308, "", "0", [], {}, [1], { a: 1 }, "NaN", "2026-13-45T99:00:00Z"),
  hostileText,
  fc.integer(),
  fc.double({ noNaN: true }),
  asciiText(3000).map((text) => text.repeat(3)),
);

const nested = (depth: number, leaf: unknown) => {
  let value: unknown = leaf;
  for (let i = 0; i < depth; i++) value = i % 2 ? [value] : { a: value };
  return value;
};

type Mutation = (value: Json, index: number, junk: unknown) => unknown;

/** Every place of a JSON value: [parent, key] pairs, for mutations to aim at. */
function places(value: Json): [Json, string | number][] {
  const found: [Json, string | number][] = [];
  const visit = (node: Json) => {
    if (node === null || typeof node !== "object") return;
    for (const key of Array.isArray(node) ? node.keys() : Object.keys(node)) {
      found.push([node, key]);
      visit(node[key]);
    }
  };
  visit(value);
  return found;
}

const at = (value: Json, index: number, change: (parent: Json, key: string | number) => void) => {
  const copy = structuredClone(value);
  const spots = places(copy);
  if (spots.length === 0) return copy;
  const [parent, key] = spots[index % spots.length]!;
  change(parent, key);
  return copy;
};

const mutations: Record<string, Mutation> = {
  unchanged: (value) => value,
  dropField: (value, index) =>
    at(value, index, (parent, key) => (Array.isArray(parent) ? parent.splice(Number(key), 1) : delete parent[key])),
  extraField: (value, index, junk) =>
    at(value, index, (parent) => {
      if (!Array.isArray(parent)) parent[`extra_${index % 7}`] = junk;
    }),
  wrongType: (value, index, junk) =>
    at(value, index, (parent, key) => {
      parent[key] = junk;
    }),
  caseFlip: (value, index) =>
    at(value, index, (parent, key) => {
      if (typeof parent[key] === "string") parent[key] = index % 2 ? parent[key].toUpperCase() : parent[key].toLowerCase();
    }),
  deepNesting: (value, index) => at(value, index, (parent, key) => (parent[key] = nested(20 + (index % 60), parent[key]))),
  replaceWhole: (_value, _index, junk) => junk,
  wrapInArray: (value) => [value],
};

/** A valid value, or one bent by one mutation at one place. */
export function mutated(valid: fc.Arbitrary<unknown>): fc.Arbitrary<{ mutation: string; value: unknown }> {
  const kinds = Object.keys(mutations);
  return fc
    .tuple(valid, fc.oneof({ weight: 3, arbitrary: fc.constant("unchanged") }, fc.constantFrom(...kinds)), fc.nat(), wrongValue)
    .map(([value, mutation, index, junk]) => ({ mutation, value: mutations[mutation]!(value, index, junk) }));
}

/** How a body travels: as JSON most of the time, sometimes as something else entirely. */
export const bodyEncoding = fc.oneof(
  { weight: 8, arbitrary: fc.constant("json") },
  fc.constantFrom("none", "empty", "garbage", "truncated", "huge", "gzip-lie"),
);

export const contentTypes = fc.oneof(
  { weight: 6, arbitrary: fc.constant("application/json") },
  fc.constantFrom(
    undefined,
    "application/json; charset=utf-8",
    "application/merge-patch+json",
    "APPLICATION/JSON",
    "application/json; charset=latin1",
    "application/json; charset=klingon",
    "text/plain",
    "text/json",
    "application/x-www-form-urlencoded",
    "application/xml",
    "multipart/form-data; boundary=x",
    "",
  ),
);

export const idempotencyKeys = fc.oneof(
  { weight: 3, arbitrary: uuid.map(String) },
  fc.constantFrom(undefined, "reused-key-1", "reused-key-2", " ", "a"),
  asciiText(60),
  asciiText(10).map((text) => `${text}${"k".repeat(3000)}`),
);

export const methods = fc.constantFrom("GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS", "PROPFIND", "PURGE");

/** Path parameter values of every shape: valid, other casing, not ids at all, encoded trouble. */
export const pathValues = (valid: fc.Arbitrary<unknown>) =>
  fc.oneof(
    { weight: 4, arbitrary: valid.map(String) },
    uuid.map((id) => id.toUpperCase()),
    uuid.map((id) => `${id}x`),
    uuid.map((id) => id.replace(/-/g, "")),
    fc.constantFrom("0", "-1", "all", "null", "..", "%2e%2e", "%00", "%ff", "a%2Fb", "ops-bookings", "9007199254740993", "1e3"),
    hostileText.map(percentEncoded),
    asciiText(20).map(encodeURIComponent),
    fc.constant("x".repeat(5000)),
  );
