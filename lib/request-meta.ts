import type { MessageOrigin } from "./outbox.ts";

/** What the api-gateway puts into ctx.meta for every call, beside Moleculer's own $-fields. */
export interface RequestMeta extends MessageOrigin {
  idempotencyKey?: string;
  requestId?: string;
  $statusCode?: number;
  $responseHeaders?: Record<string, string>;
}
