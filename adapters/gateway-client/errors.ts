import { errorMessage } from "../../lib/errors.ts";

export type GatewayErrorKind = "http" | "timeout" | "network" | "bad_response";

/**
 * Every failed partner call. `permanent` tells the consumer whether retrying can help (4xx other than
 * 408/429 cannot: dead-letter instead) or not.
 */
export class GatewayError extends Error {
  override readonly name = "GatewayError";
  /** HTTP status, or undefined when no response arrived (timeout, connection error). */
  readonly status: number | undefined;
  readonly method: string;
  readonly path: string;
  readonly kind: GatewayErrorKind;
  /** True when retrying cannot help (4xx other than 408/429): dead-letter instead of retrying. */
  readonly permanent: boolean;
  /** First characters of the response body, for logs. */
  readonly bodyExcerpt: string;

  constructor(init: {
    kind: GatewayErrorKind;
    method: string;
    path: string;
    status?: number;
    body?: string;
    cause?: unknown;
    detail?: string;
  }) {
    const what = init.status !== undefined ? `status ${init.status}` : init.kind;
    const excerpt = (init.body ?? "").slice(0, 200);
    const detail = init.detail ?? excerpt;
    super(`gateway ${init.method} ${init.path} failed: ${what}${detail ? `: ${detail}` : ""}`, {
      cause: init.cause,
    });
    this.kind = init.kind;
    this.status = init.status;
    this.method = init.method;
    this.path = init.path;
    this.bodyExcerpt = excerpt;
    this.permanent = isPermanentStatus(init.status);
  }
}

export function isPermanentStatus(status: number | undefined): boolean {
  return status !== undefined && status >= 400 && status < 500 && status !== 408 && status !== 429;
}

export function describeNetworkError(err: unknown): string {
  const cause = (err as { cause?: { code?: string; message?: string } })?.cause;
  return cause?.code ?? cause?.message ?? errorMessage(err);
}
