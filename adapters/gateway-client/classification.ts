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
  /** Whether this error answer proves the partner did nothing, so a later attempt may send the call again. */
  errorAnswerLeftNoEffect(status: number): boolean;
}

const NEVER = () => false;
const ALWAYS = () => true;
/**
 * Dead Nation answers after deciding, so its refusals (4xx, 503, 429) are trusted. A 500 may come
 * after its write, and a gateway's 502/504 means it gave up on an upstream that may have booked.
 */
const DECIDED_UNLESS_SERVER_BROKE = (status: number) => ![500, 502, 504].includes(status);

/**
 * Only a malformed request is permanent. 401/403 (an expired or rotated credential), 404 (a record the
 * partner has not caught up with) and 409 (a conflict that settles) are retried within the time budget.
 */
const REQUEST_IS_WRONG = [400, 405, 413, 414, 415, 422] as const;

export const ENDPOINT_POLICIES: Record<Endpoint, EndpointPolicy> = {
  "receipts.issue": { permanent: REQUEST_IS_WRONG, errorAnswerLeftNoEffect: NEVER },
  "receipts.void": { permanent: REQUEST_IS_WRONG, errorAnswerLeftNoEffect: NEVER },
  "payments.refund": { permanent: REQUEST_IS_WRONG, errorAnswerLeftNoEffect: NEVER },
  "deadNation.book": { permanent: REQUEST_IS_WRONG, errorAnswerLeftNoEffect: DECIDED_UNLESS_SERVER_BROKE },
  "files.put": { permanent: REQUEST_IS_WRONG, errorAnswerLeftNoEffect: NEVER },
  "spreadsheets.appendRow": { permanent: REQUEST_IS_WRONG, errorAnswerLeftNoEffect: NEVER },
  "spreadsheets.rows": { permanent: REQUEST_IS_WRONG, errorAnswerLeftNoEffect: ALWAYS },
};

export function isPermanentStatus(endpoint: Endpoint, status: number | undefined): boolean {
  return status !== undefined && ENDPOINT_POLICIES[endpoint].permanent.includes(status);
}
