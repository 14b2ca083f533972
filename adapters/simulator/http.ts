// Request plumbing shared by the partners' routes and the control endpoints.
import type { IncomingHttpHeaders, IncomingMessage, ServerResponse } from "node:http";
import type { z } from "zod";
import type { PartnerErrorAnswer } from "../../contracts/partners.ts";

export interface Reply {
  status: number;
  body?: unknown; // JSON-serialised unless `text` is set
  text?: string;
}

export interface Incoming {
  /** The route's captured path segment (a file id, a sheet name), URI-decoded; "" when none. */
  segment: string;
  /** The request body as text; JSON routes parse it themselves (files take it as is). */
  raw: string;
  headers: IncomingHttpHeaders;
}

export interface Route {
  method: "GET" | "PUT" | "POST";
  pattern: RegExp;
  handle(incoming: Incoming): Reply;
}

export class BadRequest extends Error {
  constructor(
    message: string,
    readonly details?: PartnerErrorAnswer["details"],
  ) {
    super(message);
  }
}

export class BodyTooLarge extends Error {}

const MAX_BODY = 1024 * 1024;

export function errorReply(status: number, error: string): Reply {
  return { status, body: { error } satisfies PartnerErrorAnswer };
}

/** The body as the schema reads it, or a 400 naming every field it refuses. */
export function parseBody<S extends z.ZodType>(schema: S, raw: string): z.infer<S> {
  const parsed = schema.safeParse(parseJson(raw));
  if (parsed.success) return parsed.data;
  const details = parsed.error.issues.map((issue) => ({ field: issue.path.join(".") || "(body)", message: issue.message }));
  throw new BadRequest(`invalid request: ${details.map((d) => `${d.field}: ${d.message}`).join("; ")}`, details);
}

function parseJson(raw: string): unknown {
  try {
    return JSON.parse(raw);
  } catch {
    throw new BadRequest("body is not valid JSON");
  }
}

export function decodeSegment(segment: string | undefined): string {
  try {
    return decodeURIComponent(segment ?? "");
  } catch {
    throw new BadRequest("path segment is not valid URI encoding");
  }
}

/** What the call log keeps of a body: parsed JSON, raw text, or undefined when empty. */
export function loggedBody(raw: string, headers: IncomingHttpHeaders): unknown {
  if (raw === "") return undefined;
  if ((headers["content-type"] ?? "").startsWith("text/plain")) return raw;
  try {
    return JSON.parse(raw);
  } catch {
    return raw;
  }
}

export async function readBody(req: IncomingMessage): Promise<string> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of req as AsyncIterable<Buffer>) {
    size += chunk.length;
    if (size > MAX_BODY) throw new BodyTooLarge();
    chunks.push(chunk);
  }
  return Buffer.concat(chunks).toString("utf8");
}

export function writeReply(res: ServerResponse, reply: Reply): void {
  if (reply.text !== undefined) {
    res.writeHead(reply.status, { "Content-Type": "text/plain; charset=utf-8" }).end(reply.text);
  } else {
    res.writeHead(reply.status, { "Content-Type": "application/json" }).end(JSON.stringify(reply.body ?? {}));
  }
}

export function headerValue(v: string | string[] | undefined): string | undefined {
  return Array.isArray(v) ? v[0] : v;
}
