import type { MessageOrigin } from "../messaging/outbox.ts";

/** What the api-gateway puts into ctx.meta for every call, beside Moleculer's own $-fields. */
export interface RequestMeta extends MessageOrigin {
  idempotencyKey?: string;
  requestId?: string;
  /** Path and query as the client sent them: where a page's `Link: rel="next"` points. */
  requestUrl?: string;
  ifNoneMatch?: string;
  $statusCode?: number;
  /** Location header of a 201 (moleculer-web warns on a 201 without one). */
  $location?: string;
  $responseHeaders?: Record<string, string>;
}
