import { errorMessage } from "../../lib/errors.ts";
import { ENDPOINT_POLICIES, type Endpoint, isPermanentStatus } from "./classification.ts";

/** "circuit_open": the call was not sent, the partner is failing (breaker.ts). */
export type GatewayErrorKind = "http" | "timeout" | "network" | "bad_response" | "circuit_open";

/**
 * Every failed partner call. `permanent` tells the consumer whether retrying can help (by the
 * endpoint's table in classification.ts); `leftNoEffect` whether the partner provably did nothing.
 */
export class GatewayError extends Error {
  override readonly name = "GatewayError";
  /** HTTP status, or undefined when no response arrived (timeout, connection error). */
  readonly status: number | undefined;
  readonly method: string;
  readonly path: string;
  readonly kind: GatewayErrorKind;
  /** True when retrying cannot help (the request is wrong): dead-letter instead of retrying. */
  readonly permanent: boolean;
  /**
   * True when the partner cannot have acted on the call: it was never sent (connection refused, the
   * circuit open) or the endpoint trusts this error answer as a refusal. A timeout or reset stays in doubt.
   */
  readonly leftNoEffect: boolean;
  /** True when the request went out and no answer came (a timeout, a reset): the partner may still apply it. */
  readonly unanswered: boolean;
  /** First characters of the response body, for logs. */
  readonly bodyExcerpt: string;

  constructor(init: {
    endpoint: Endpoint;
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
    this.permanent = init.kind === "http" && isPermanentStatus(init.endpoint, init.status);
    const refused = init.kind === "network" && init.detail === "ECONNREFUSED";
    this.unanswered = init.kind === "timeout" || (init.kind === "network" && !refused);
    this.leftNoEffect =
      init.kind === "circuit_open" ||
      refused ||
      (init.kind === "http" && init.status !== undefined && ENDPOINT_POLICIES[init.endpoint].errorAnswerLeftNoEffect(init.status));
  }
}

/** The system's or undici's error code (ECONNREFUSED, UND_ERR_SOCKET …), found on the error or its cause. */
export function describeNetworkError(err: unknown): string {
  const failure = err as { code?: string; cause?: { code?: string; message?: string } } | undefined;
  return failure?.code ?? failure?.cause?.code ?? failure?.cause?.message ?? errorMessage(err);
}
