// How each partner endpoint's failures are read, in one table (docs/gateway-partners.md shows it):
// which answers retrying cannot fix, and whether an error answer proves the partner did nothing.

/** The client's calls, one per partner endpoint. */
export type Endpoint =
  | "receipts.issue"
  | "receipts.void"
  | "payments.refund"
  | "deadNation.book"
  | "files.put"
  | "spreadsheets.appendRow"
  | "spreadsheets.rows";

export interface EndpointPolicy {
  /** Statuses that say the request itself is wrong: dead-letter at once. Every other failure is retried. */
  permanent: readonly number[];
  /** An error answer means the partner did nothing, so a later attempt may send the call again. */
  errorAnswerLeftNoEffect: boolean;
}

/**
 * Only a malformed request is permanent. 401/403 (an expired or rotated credential), 404 (a record the
 * partner has not caught up with) and 409 (a conflict that settles) are retried within the time budget.
 */
const REQUEST_IS_WRONG = [400, 405, 413, 414, 415, 422] as const;

export const ENDPOINT_POLICIES: Record<Endpoint, EndpointPolicy> = {
  "receipts.issue": { permanent: REQUEST_IS_WRONG, errorAnswerLeftNoEffect: false },
  "receipts.void": { permanent: REQUEST_IS_WRONG, errorAnswerLeftNoEffect: false },
  "payments.refund": { permanent: REQUEST_IS_WRONG, errorAnswerLeftNoEffect: false },
  // Dead Nation answers only after deciding: its error answers are refusals, never lost bookings
  "deadNation.book": { permanent: REQUEST_IS_WRONG, errorAnswerLeftNoEffect: true },
  "files.put": { permanent: REQUEST_IS_WRONG, errorAnswerLeftNoEffect: false },
  "spreadsheets.appendRow": { permanent: REQUEST_IS_WRONG, errorAnswerLeftNoEffect: false },
  "spreadsheets.rows": { permanent: REQUEST_IS_WRONG, errorAnswerLeftNoEffect: true },
};

export function isPermanentStatus(endpoint: Endpoint, status: number | undefined): boolean {
  return status !== undefined && ENDPOINT_POLICIES[endpoint].permanent.includes(status);
}
