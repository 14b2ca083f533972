/**
 * A failure that retrying cannot fix (a malformed message, an event that can never apply): the
 * consumer dead-letters it at once instead of spending its delivery budget.
 */
export class PermanentError extends Error {
  override readonly name = "PermanentError";
}

export function isPermanent(error: unknown): boolean {
  return (
    error instanceof PermanentError ||
    (typeof error === "object" && error !== null && (error as { permanent?: unknown }).permanent === true)
  );
}

export function errorMessage(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}

/** The error says the effect it was after cannot have happened (e.g. a partner call that was never sent). */
export function leftNoEffect(error: unknown): boolean {
  return typeof error === "object" && error !== null && (error as { leftNoEffect?: unknown }).leftNoEffect === true;
}

/** The error says a request went out and no answer came back: the other side may still be applying it. */
export function wentUnanswered(error: unknown): boolean {
  return typeof error === "object" && error !== null && (error as { unanswered?: unknown }).unanswered === true;
}
