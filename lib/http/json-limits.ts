import type { FieldProblem } from "./http-errors.ts";

/** Deeper than any request body of the API needs; well below what a recursive serializer survives. */
export const MAX_JSON_DEPTH = 32;

/** Unicode control characters (C0, DEL, C1): Postgres refuses NUL, and none belongs in a name, an email or an id. */
const CONTROL_CHARACTER = /\p{Cc}/u;
/** In a `u` regex a surrogate pair is one code point, so only an unpaired surrogate is `Cs`. */
const LONE_SURROGATE = /\p{Cs}/u;

function problemOfString(text: string): string | undefined {
  if (CONTROL_CHARACTER.test(text)) return "must not contain control characters";
  if (LONE_SURROGATE.test(text)) return "must not contain unpaired UTF-16 surrogates";
  return undefined;
}

/**
 * The first value of a parsed JSON document (or query) that the database or the partners cannot
 * hold: nesting beyond `maxDepth`, or a string or key with control characters or lone surrogates.
 * Iterative, so no document can exhaust the stack.
 */
export function firstUnholdableValue(document: unknown, maxDepth = MAX_JSON_DEPTH): FieldProblem | undefined {
  const pending: { value: unknown; path: string; depth: number }[] = [{ value: document, path: "", depth: 0 }];
  while (pending.length > 0) {
    const { value, path, depth } = pending.pop()!;
    const field = path || "(body)";
    if (typeof value === "string") {
      const message = problemOfString(value);
      if (message) return { field, message };
      continue;
    }
    if (value === null || typeof value !== "object") continue;
    if (depth >= maxDepth) return { field, message: `nested deeper than ${maxDepth} levels` };
    for (const [key, child] of Object.entries(value)) {
      const keyProblem = problemOfString(key);
      const childPath = path ? `${path}.${key}` : key;
      if (keyProblem) return { field: childPath, message: `key ${keyProblem}` };
      pending.push({ value: child, path: childPath, depth: depth + 1 });
    }
  }
  return undefined;
}
